import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { I18nProvider as AriaI18nProvider } from 'react-aria-components';
import { de, type MessageKey } from './de';
import { en } from './en';

export type Lang = 'de' | 'en';
export type { MessageKey };
export const LANGS: readonly Lang[] = ['de', 'en'];
const DICTIONARIES: Record<Lang, Record<MessageKey, string>> = { de, en };
/** The only thing the console keeps in storage: the language is not sensitive. Tokens never go there. */
const STORAGE_KEY = 'charge-records.lang';

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
  t: Translate;
  /** Whether a key exists (labels for field names that come from the API). */
  has(key: string): key is MessageKey;
  /** A date-time in the user's time zone, with the zone named (e.g. "07.12.2026, 11:02 MEZ"). */
  dateTime(iso: string): string;
  /** A calendar date (YYYY-MM-DD) as the locale writes it; no zone, it is a day, not an instant. */
  date(isoDate: string): string;
  number(value: number): string;
}

export function translate(lang: Lang, key: MessageKey, params?: Record<string, string | number>): string {
  const text = DICTIONARIES[lang][key];
  return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => String(params[name] ?? m)) : text;
}

function initialLang(): Lang {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === 'de' || stored === 'en') return stored;
  } catch {
    // Storage blocked: the default language.
  }
  return 'de';
}

const I18nContext = createContext<I18n | undefined>(undefined);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const setLang = useCallback((next: Lang) => {
    setLangState(next);
    document.documentElement.lang = next;
    try {
      localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // Not kept across reloads then; nothing else depends on it.
    }
  }, []);
  const value = useMemo<I18n>(() => {
    const locale = lang === 'de' ? 'de-DE' : 'en-GB';
    const dt = new Intl.DateTimeFormat(locale, {
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      // dateStyle/timeStyle cannot be combined with a zone name; the zone must show.
      timeZoneName: 'short',
    });
    const d = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
    const n = new Intl.NumberFormat(locale, { maximumFractionDigits: 3 });
    document.documentElement.lang = lang;
    return {
      lang,
      setLang,
      t: (key, params) => translate(lang, key, params),
      has: (key: string): key is MessageKey => Object.hasOwn(DICTIONARIES[lang], key),
      dateTime: (iso) => dt.format(new Date(iso)),
      date: (isoDate) => d.format(new Date(`${isoDate}T00:00:00Z`)),
      number: (value) => n.format(value),
    };
  }, [lang, setLang]);
  return (
    <I18nContext.Provider value={value}>
      <AriaI18nProvider locale={lang === 'de' ? 'de-DE' : 'en-GB'}>{children}</AriaI18nProvider>
    </I18nContext.Provider>
  );
}

export function useI18n(): I18n {
  const ctx = useContext(I18nContext);
  if (!ctx) throw new Error('useI18n outside I18nProvider');
  return ctx;
}

import { ToggleButton, ToggleButtonGroup, type Key } from 'react-aria-components';
import { type Lang, LANGS, useI18n } from '../i18n/i18n';

/** German or English, one press away on every page (sign-in included). */
export function LanguageSwitch() {
  const { t, lang, setLang } = useI18n();
  return (
    <ToggleButtonGroup
      aria-label={t('lang.label')}
      selectionMode="single"
      disallowEmptySelection
      selectedKeys={[lang]}
      onSelectionChange={(keys: Set<Key>) => {
        const next = [...keys][0] as Lang | undefined;
        if (next) setLang(next);
      }}
      className="lang-switch"
    >
      {LANGS.map((l) => (
        <ToggleButton key={l} id={l} lang={l}>
          {t(`lang.${l}`)}
        </ToggleButton>
      ))}
    </ToggleButtonGroup>
  );
}

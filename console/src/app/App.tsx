import { QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useState } from 'react';
import { type EndReason, noteActivity, onSessionChange, resume } from '../api/session';
import { I18nProvider, useI18n } from '../i18n/i18n';
import { SignIn } from '../pages/SignIn';
import { SIGNED_MESSAGE } from '../pages/charge-model';
import { onPasswordChangeRequired, queryClient } from './query';
import { match, useLocation } from './router';
import { ROUTES } from './routes';

/** The signed-in frame (navigation and pages) loads after sign-in: the sign-in page carries none of it. */
const Shell = lazy(() => import('./Shell'));

type State = { kind: 'starting' } | { kind: 'signed-out'; reason?: EndReason } | { kind: 'signed-in' };

function Root() {
  const { t } = useI18n();
  const [state, setState] = useState<State>({ kind: 'starting' });
  const loc = useLocation();

  useEffect(() => {
    const off = onSessionChange((signedIn, reason) => {
      // Nothing of the last session stays on screen or in the cache.
      if (!signedIn) queryClient.clear();
      setState(signedIn ? { kind: 'signed-in' } : { kind: 'signed-out', reason });
    });
    void resume().then((ok) => {
      if (!ok) setState((s) => (s.kind === 'starting' ? { kind: 'signed-out' } : s));
    });
    const activity = () => noteActivity();
    window.addEventListener('keydown', activity, { passive: true });
    window.addEventListener('pointerdown', activity, { passive: true });
    return () => {
      off();
      window.removeEventListener('keydown', activity);
      window.removeEventListener('pointerdown', activity);
    };
  }, []);

  if (state.kind === 'starting') return <p className="loading">{t('common.loading')}</p>;
  if (state.kind === 'signed-out') {
    const found = match(ROUTES, loc.path);
    if (found?.route.public) {
      const Page = found.route.page;
      return (
        <main id="main" className="auth-page">
          <Suspense fallback={<p>{t('common.loading')}</p>}>
            <Page params={found.params} query={loc.query} />
          </Suspense>
        </main>
      );
    }
    return <SignIn reason={state.reason} />;
  }
  return <SignedIn />;
}

function SignedIn() {
  const [mustChange, setMustChange] = useState(false);
  useEffect(() => onPasswordChangeRequired(() => setMustChange(true)), []);
  const { t } = useI18n();
  return (
    <Suspense fallback={<p className="loading">{t('common.loading')}</p>}>
      <Shell mustChangePassword={mustChange} onPasswordChanged={() => setMustChange(false)} />
    </Suspense>
  );
}

/**
 * The window of an SSO re-authentication for a signature lands on #/signed: it tells the console that opened it
 * and closes. It resumes no session of its own (a second refresh with the shared cookie would look like reuse).
 */
function SignedHandOff() {
  const { t } = useI18n();
  useEffect(() => {
    if (window.opener) {
      (window.opener as Window).postMessage({ type: SIGNED_MESSAGE }, location.origin);
      window.close();
    }
  }, []);
  return (
    <main id="main" className="auth-page">
      <p role="status">{t('signature.windowDone')}</p>
    </main>
  );
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <I18nProvider>{location.hash.startsWith('#/signed') ? <SignedHandOff /> : <Root />}</I18nProvider>
    </QueryClientProvider>
  );
}

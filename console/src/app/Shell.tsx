import { lazy, Suspense } from 'react';
import { Button, Link } from 'react-aria-components';
import { api } from '../api/client';
import { endSession } from '../api/session';
import { useI18n } from '../i18n/i18n';
import { LanguageSwitch } from './LanguageSwitch';
import { useMe } from './me';
import { ErrorMessage } from '../ui/errors';
import { href, match, useLocation } from './router';
import { HOME, ROUTES } from './routes';

const ChangePassword = lazy(() => import('../pages/ChangePassword'));

async function signOut() {
  // The server revokes the access token and the cookie's session; the screen is cleared either way.
  await api.POST('/auth/logout', { body: {} }).catch(() => undefined);
  endSession('signed-out');
}

export default function Shell(props: { mustChangePassword: boolean; onPasswordChanged: () => void }) {
  const { t } = useI18n();
  const loc = useLocation();
  const me = useMe();
  const permissions = new Set(me.data?.permissions ?? []);
  const path = loc.path === '/' ? HOME : loc.path;
  const found = match(ROUTES, path);
  const Page = found?.route.page;
  return (
    <div className="shell">
      <a
        className="skip-link"
        href="#main"
        onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}
      >
        {t('app.skipToContent')}
      </a>
      <header className="topbar">
        <span className="brand">{t('app.title')}</span>
        <nav aria-label={t('nav.label')}>
          <ul>
            {ROUTES.filter((r) => r.nav && (!r.nav.permission || permissions.has(r.nav.permission))).map((r) => (
              <li key={r.path}>
                <Link
                  href={href(r.path)}
                  className="nav-link"
                  aria-current={path.startsWith(r.path) ? 'page' : undefined}
                >
                  {t(r.nav!.label)}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="topbar-end">
          {me.data && (
            <span className="who">{t('nav.signedInAs', { name: me.data.displayName ?? me.data.username })}</span>
          )}
          <LanguageSwitch />
          <Button onPress={() => void signOut()}>{t('nav.signOut')}</Button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {me.error && !props.mustChangePassword ? <ErrorMessage error={me.error} /> : null}
        <Suspense fallback={<p className="loading">{t('common.loading')}</p>}>
          {props.mustChangePassword ? (
            <ChangePassword params={{}} query={new URLSearchParams()} onDone={props.onPasswordChanged} />
          ) : Page && found ? (
            <Page key={loc.path} params={found.params} query={loc.query} />
          ) : (
            <p>{t('common.notFound')}</p>
          )}
        </Suspense>
      </main>
    </div>
  );
}

import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Button, Form, Link } from 'react-aria-components';
import { api, ApiError, unwrap } from '../api/client';
import { type EndReason, startSession } from '../api/session';
import type { LoginRequest, TokenAnswer } from '../api/types';
import { href } from '../app/router';
import { LanguageSwitch } from '../app/LanguageSwitch';
import { useI18n } from '../i18n/i18n';
import { ErrorMessage } from '../ui/errors';
import { UsernameInput } from '../ui/auth-fields';
import { TextInput } from '../ui/fields';

/** Username and password, then a TOTP step when the server asks for one; SSO buttons below. */
export function SignIn({ reason }: { reason?: EndReason }) {
  const { t } = useI18n();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needTotp, setNeedTotp] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const providers = useQuery({
    queryKey: ['sso-providers'],
    queryFn: async () => (await unwrap(api.GET('/auth/sso/providers'))).items,
    // Sign-in works without SSO: a server without providers (or without the route) shows no buttons.
    retry: false,
  });

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const body: LoginRequest = { username, password, session: 'cookie', ...(needTotp ? { totp } : {}) };
    try {
      const answer = (await unwrap(api.POST('/auth/login', { body }))) as unknown as TokenAnswer;
      setPassword('');
      startSession(answer);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'MFA_REQUIRED') {
        // The first time it only means "now the code"; after a code was sent it means the code was wrong.
        if (needTotp) setError(err);
        setNeedTotp(true);
        setTotp('');
      } else setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="auth-page">
      <div className="auth-card">
        <div className="auth-top">
          <span className="brand">{t('app.title')}</span>
          <LanguageSwitch />
        </div>
        <h1>{t('signIn.heading')}</h1>
        {reason && (
          <p role="status" className="notice">
            {t(reason === 'expired' ? 'signIn.sessionEnded' : 'signIn.signedOut')}
          </p>
        )}
        <Form onSubmit={(e) => void submit(e)} className="form">
          <UsernameInput value={username} onChange={setUsername} autoFocus />
          <TextInput
            label={t('signIn.password')}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={setPassword}
            isRequired
          />
          {needTotp && (
            <>
              <p className="notice">{t('signIn.totpHint')}</p>
              <TextInput
                label={t('signIn.totp')}
                name="totp"
                autoComplete="one-time-code"
                inputMode="numeric"
                value={totp}
                onChange={setTotp}
                isRequired
                autoFocus
              />
            </>
          )}
          <ErrorMessage error={error} />
          <Button type="submit" className="primary" isDisabled={busy}>
            {t('signIn.submit')}
          </Button>
        </Form>
        <p>
          <Link href={href('/forgot-password')}>{t('signIn.forgot')}</Link>
        </p>
        {providers.data && providers.data.length > 0 && (
          <section aria-labelledby="sso-heading">
            <h2 id="sso-heading">{t('signIn.ssoHeading')}</h2>
            {providers.data.map((p) => (
              <Link key={p.id} className="button" href={`/auth/sso/${encodeURIComponent(p.id)}`}>
                {t('signIn.sso', { name: p.displayName })}
              </Link>
            ))}
          </section>
        )}
      </div>
    </main>
  );
}

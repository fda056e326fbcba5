import { type FormEvent, useState } from 'react';
import { Button, Form } from 'react-aria-components';
import { api, unwrap } from '../api/client';
import type { PageProps } from '../app/router';
import { useI18n } from '../i18n/i18n';
import { ErrorMessage } from '../ui/errors';
import { BackToSignIn, PasswordFields, usePasswordForm } from '../ui/auth-fields';

/**
 * Where the mailed reset link lands (`#/reset?token=…`, a fragment, so the token never reaches a server log).
 * The token is taken into memory and removed from the address bar at once, so it is not left in the history.
 */
export default function ResetPassword({ query }: PageProps) {
  const { t } = useI18n();
  const [token] = useState(() => {
    const value = query.get('token') ?? '';
    if (value) history.replaceState(null, '', `${location.pathname}#/reset`);
    return value;
  });
  const password = usePasswordForm({ newPassword: '', repeat: '' });
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>();

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setError(undefined);
    if (!password.matches()) return;
    try {
      await unwrap(api.POST('/auth/password-reset', { body: { token, newPassword: password.form.newPassword } }));
      setDone(true);
    } catch (err) {
      setError(err);
    }
  }

  return (
    <div className="auth-card">
      <h1>{t('reset.heading')}</h1>
      {done ? (
        <p role="status" className="notice">
          {t('reset.done')}
        </p>
      ) : !token ? (
        <p role="alert" className="error">
          {t('reset.noToken')}
        </p>
      ) : (
        <Form onSubmit={(e) => void submit(e)} className="form">
          <PasswordFields password={password} autoFocus />
          <ErrorMessage error={error} />
          <Button type="submit" className="primary">
            {t('reset.submit')}
          </Button>
        </Form>
      )}
      <BackToSignIn />
    </div>
  );
}

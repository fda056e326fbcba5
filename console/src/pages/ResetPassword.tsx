import { type FormEvent, useState } from 'react';
import { Button, Form, Link } from 'react-aria-components';
import { api, unwrap } from '../api/client';
import { href, type PageProps } from '../app/router';
import { useI18n } from '../i18n/i18n';
import { ErrorMessage } from '../ui/errors';
import { TextInput } from '../ui/fields';

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
  const [form, setForm] = useState({ newPassword: '', repeat: '' });
  const [mismatch, setMismatch] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>();

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setError(undefined);
    const differ = form.newPassword !== form.repeat;
    setMismatch(differ);
    if (differ) return;
    try {
      await unwrap(api.POST('/auth/password-reset', { body: { token, newPassword: form.newPassword } }));
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
          <TextInput
            label={t('changePassword.new')}
            name="newPassword"
            type="password"
            autoComplete="new-password"
            value={form.newPassword}
            onChange={(v) => setForm({ ...form, newPassword: v })}
            isRequired
            autoFocus
          />
          <TextInput
            label={t('changePassword.repeat')}
            name="repeat"
            type="password"
            autoComplete="new-password"
            value={form.repeat}
            onChange={(v) => setForm({ ...form, repeat: v })}
            isRequired
          />
          {mismatch && (
            <p role="alert" className="error">
              {t('changePassword.mismatch')}
            </p>
          )}
          <ErrorMessage error={error} />
          <Button type="submit" className="primary">
            {t('reset.submit')}
          </Button>
        </Form>
      )}
      <p>
        <Link href={href('/')}>{t('forgot.backToSignIn')}</Link>
      </p>
    </div>
  );
}

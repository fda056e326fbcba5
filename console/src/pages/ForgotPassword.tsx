import { type FormEvent, useState } from 'react';
import { Button, Form } from 'react-aria-components';
import { api, unwrap } from '../api/client';
import type { PageProps } from '../app/router';
import { useI18n } from '../i18n/i18n';
import { ErrorMessage } from '../ui/errors';
import { BackToSignIn, UsernameInput } from '../ui/auth-fields';

/** Asks for a reset link; the answer is the same whether the account exists or not. */
export default function ForgotPassword(_: PageProps) {
  const { t } = useI18n();
  const [username, setUsername] = useState('');
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<unknown>();

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setError(undefined);
    try {
      await unwrap(api.POST('/auth/password-reset/request', { body: { username } }));
      setSent(true);
    } catch (err) {
      setError(err);
    }
  }

  return (
    <div className="auth-card">
      <h1>{t('forgot.heading')}</h1>
      <p>{t('forgot.intro')}</p>
      {sent ? (
        <p role="status" className="notice">
          {t('forgot.sent')}
        </p>
      ) : (
        <Form onSubmit={(e) => void submit(e)} className="form">
          <UsernameInput value={username} onChange={setUsername} />
          <ErrorMessage error={error} />
          <Button type="submit" className="primary">
            {t('forgot.submit')}
          </Button>
        </Form>
      )}
      <BackToSignIn />
    </div>
  );
}

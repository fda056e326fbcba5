import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Button, Form } from 'react-aria-components';
import { api, unwrap } from '../api/client';
import type { PageProps } from '../app/router';
import { useI18n } from '../i18n/i18n';
import { ErrorMessage } from '../ui/errors';
import { PasswordFields, usePasswordForm } from '../ui/auth-fields';

/** The forced password change: the only thing a user with a temporary password can do. */
export default function ChangePassword({ onDone }: PageProps & { onDone?: () => void }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const password = usePasswordForm({ currentPassword: '', newPassword: '', repeat: '' });
  const [error, setError] = useState<unknown>();

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setError(undefined);
    if (!password.matches()) return;
    try {
      const { currentPassword, newPassword } = password.form;
      await unwrap(api.POST('/users/me/password', { body: { currentPassword, newPassword } }));
      password.clear();
      await client.invalidateQueries();
      onDone?.();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <div className="auth-card">
      <h1>{t('changePassword.heading')}</h1>
      <p>{t('changePassword.intro')}</p>
      <Form onSubmit={(e) => void submit(e)} className="form">
        <PasswordFields password={password} repeatName="repeatPassword" />
        <ErrorMessage error={error} />
        <Button type="submit" className="primary">
          {t('changePassword.submit')}
        </Button>
      </Form>
    </div>
  );
}

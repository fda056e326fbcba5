import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Button, Form } from 'react-aria-components';
import { api, unwrap } from '../api/client';
import type { PageProps } from '../app/router';
import { useI18n } from '../i18n/i18n';
import { ErrorMessage } from '../ui/errors';
import { TextInput } from '../ui/fields';

/** The forced password change: the only thing a user with a temporary password can do. */
export default function ChangePassword({ onDone }: PageProps & { onDone?: () => void }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<unknown>();
  const [mismatch, setMismatch] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setError(undefined);
    setMismatch(next !== repeat);
    if (next !== repeat) return;
    try {
      await unwrap(api.POST('/users/me/password', { body: { currentPassword: current, newPassword: next } }));
      setCurrent('');
      setNext('');
      setRepeat('');
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
        <TextInput
          label={t('changePassword.current')}
          name="currentPassword"
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={setCurrent}
          isRequired
        />
        <TextInput
          label={t('changePassword.new')}
          name="newPassword"
          type="password"
          autoComplete="new-password"
          value={next}
          onChange={setNext}
          isRequired
        />
        <TextInput
          label={t('changePassword.repeat')}
          name="repeatPassword"
          type="password"
          autoComplete="new-password"
          value={repeat}
          onChange={setRepeat}
          isRequired
        />
        {mismatch && (
          <p role="alert" className="error">
            {t('changePassword.mismatch')}
          </p>
        )}
        <ErrorMessage error={error} />
        <Button type="submit" className="primary">
          {t('changePassword.submit')}
        </Button>
      </Form>
    </div>
  );
}

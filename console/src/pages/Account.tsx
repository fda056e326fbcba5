import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { Button, Form } from 'react-aria-components';
import { api, unwrap } from '../api/client';
import type { SessionView } from '../api/records';
import { useMe } from '../app/me';
import type { PageProps } from '../app/router';
import { useI18n } from '../i18n/i18n';
import { ErrorMessage } from '../ui/errors';
import { PasswordFields, usePasswordForm } from '../ui/auth-fields';
import { Section, TextInput } from '../ui/fields';
import { DataTable } from '../ui/table';

/** "My account": profile, password, the second factor and the sessions that are open in the person's name. */
export default function Account({ query }: PageProps) {
  const { t } = useI18n();
  const me = useMe();
  if (me.error) return <ErrorMessage error={me.error} />;
  if (!me.data) return <p className="loading">{t('common.loading')}</p>;
  const local = me.data.source === 'local';
  return (
    <>
      <h1>{t('account.heading')}</h1>
      {query.get('enrol') && (
        <p role="alert" className="notice">
          {t('account.enrolRequired')}
        </p>
      )}
      <Profile displayName={me.data.displayName ?? ''} email={me.data.email ?? ''} />
      {local && <Password />}
      {local && <Mfa enrolled={Boolean((me.data as { mfaEnabled?: boolean }).mfaEnabled)} />}
      {!query.get('enrol') && <Sessions />}
    </>
  );
}

function Profile(props: { displayName: string; email: string }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const [form, setForm] = useState(props);
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH('/users/me', {
          body: {
            ...(form.displayName ? { displayName: form.displayName } : {}),
            ...(form.email ? { email: form.email } : {}),
          },
        }),
      ),
    onSuccess: async () => {
      setSaved(true);
      await client.invalidateQueries({ queryKey: ['me'] });
    },
  });
  return (
    <Section title={t('account.profile')} id="profile-heading">
      <Form
        className="form"
        onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          setSaved(false);
          save.mutate();
        }}
      >
        <TextInput
          label={t('users.displayName')}
          name="displayName"
          value={form.displayName}
          onChange={(v) => setForm({ ...form, displayName: v })}
        />
        <TextInput
          label={t('users.email')}
          name="email"
          value={form.email}
          onChange={(v) => setForm({ ...form, email: v })}
        />
        <ErrorMessage error={save.error} />
        {saved && (
          <p role="status" className="notice">
            {t('account.saved')}
          </p>
        )}
        <Button type="submit" className="primary">
          {t('common.save')}
        </Button>
      </Form>
    </Section>
  );
}

function Password() {
  const { t } = useI18n();
  const password = usePasswordForm({ currentPassword: '', newPassword: '', repeat: '' });
  const change = useMutation({
    mutationFn: () => {
      const { currentPassword, newPassword } = password.form;
      return unwrap(api.POST('/users/me/password', { body: { currentPassword, newPassword } }));
    },
    onSuccess: password.clear,
  });
  return (
    <Section title={t('account.password')} id="password-heading">
      <Form
        className="form"
        onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          if (password.matches()) change.mutate();
        }}
      >
        <PasswordFields password={password} />
        <ErrorMessage error={change.error} />
        {change.isSuccess && (
          <p role="status" className="notice">
            {t('account.passwordChanged')}
          </p>
        )}
        <Button type="submit" className="primary">
          {t('changePassword.submit')}
        </Button>
      </Form>
    </Section>
  );
}

/** The QR code of an otpauth URI, drawn as SVG by the qrcode library (loaded with this page only). */
function QrCode({ uri, label }: { uri: string; label: string }) {
  const [svg, setSvg] = useState<string>();
  useEffect(() => {
    let live = true;
    void import('qrcode').then((qr) =>
      qr.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }).then((s) => live && setSvg(s)),
    );
    return () => {
      live = false;
    };
  }, [uri]);
  if (!svg) return null;
  const src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  return <img className="qr" src={src} alt={label} width={200} height={200} />;
}

function Mfa({ enrolled }: { enrolled: boolean }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const [pending, setPending] = useState<{ secret: string; otpauthUri: string } | undefined>();
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState<string[] | undefined>();
  const [remove, setRemove] = useState({ password: '', totp: '' });
  const start = useMutation({
    mutationFn: () =>
      unwrap(api.POST('/users/me/mfa' as never, {} as never)) as Promise<{ secret: string; otpauthUri: string }>,
    onSuccess: setPending,
  });
  const confirm = useMutation({
    mutationFn: () =>
      unwrap(api.POST('/users/me/mfa/confirm' as never, { body: { totp: code } } as never)) as Promise<{
        recoveryCodes: string[];
      }>,
    onSuccess: async (answer) => {
      setRecovery(answer.recoveryCodes);
      setPending(undefined);
      await client.invalidateQueries({ queryKey: ['me'] });
    },
  });
  const off = useMutation({
    mutationFn: () => unwrap(api.DELETE('/users/me/mfa' as never, { body: remove } as never)),
    onSuccess: async () => {
      setRemove({ password: '', totp: '' });
      await client.invalidateQueries({ queryKey: ['me'] });
    },
  });
  return (
    <Section title={t('account.mfa')} id="mfa-heading">
      {recovery && (
        <div role="status" className="notice">
          <p>{t('account.recoveryCodes')}</p>
          <ul className="codes" aria-label={t('account.recoveryCodesList')}>
            {recovery.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      {enrolled && !pending && (
        <Form
          className="form"
          onSubmit={(e: FormEvent<HTMLFormElement>) => {
            e.preventDefault();
            off.mutate();
          }}
        >
          <p>{t('account.mfaOn')}</p>
          <TextInput
            label={t('signIn.password')}
            name="mfaPassword"
            type="password"
            autoComplete="current-password"
            value={remove.password}
            onChange={(v) => setRemove({ ...remove, password: v })}
            isRequired
          />
          <TextInput
            label={t('signIn.totp')}
            name="mfaRemoveCode"
            inputMode="numeric"
            autoComplete="one-time-code"
            value={remove.totp}
            onChange={(v) => setRemove({ ...remove, totp: v })}
            isRequired
          />
          <ErrorMessage error={off.error} />
          <Button type="submit">{t('account.mfaRemove')}</Button>
        </Form>
      )}
      {!enrolled && !pending && (
        <>
          <p>{t('account.mfaOff')}</p>
          <ErrorMessage error={start.error} />
          <Button className="primary" onPress={() => start.mutate()}>
            {t('account.mfaEnrol')}
          </Button>
        </>
      )}
      {pending && (
        <Form
          className="form"
          onSubmit={(e: FormEvent<HTMLFormElement>) => {
            e.preventDefault();
            confirm.mutate();
          }}
        >
          <p>{t('account.mfaScan')}</p>
          <QrCode uri={pending.otpauthUri} label={t('account.mfaQr')} />
          <p>
            {t('account.mfaSecret')} <code>{pending.secret}</code>
          </p>
          <TextInput
            label={t('account.mfaCode')}
            name="mfaCode"
            inputMode="numeric"
            autoComplete="one-time-code"
            value={code}
            onChange={setCode}
            isRequired
            autoFocus
          />
          <ErrorMessage error={confirm.error} />
          <Button type="submit" className="primary">
            {t('account.mfaConfirm')}
          </Button>
        </Form>
      )}
    </Section>
  );
}

function Sessions() {
  const { t, dateTime } = useI18n();
  const client = useQueryClient();
  const sessions = useQuery({
    queryKey: ['sessions'],
    queryFn: () => unwrap(api.GET('/users/me/sessions' as never)) as Promise<{ items: SessionView[] }>,
  });
  const end = useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE('/users/me/sessions/{id}' as never, { params: { path: { id } } } as never)),
    onSuccess: () => client.invalidateQueries({ queryKey: ['sessions'] }),
  });
  const items = sessions.data?.items ?? [];
  return (
    <Section title={t('account.sessions')} id="sessions-heading">
      <ErrorMessage error={sessions.error ?? end.error} />
      <DataTable
        id="sessions-caption"
        caption={t('account.sessions')}
        columns={[
          t('account.sessionStarted'),
          t('account.sessionLastUsed'),
          t('account.sessionClient'),
          t('users.actions'),
        ]}
      >
        {items.map((s) => (
          <tr key={s.id}>
            <th scope="row">
              {dateTime(s.createdAt)} {s.current ? `(${t('account.thisSession')})` : ''}
            </th>
            <td>{s.lastUsedAt ? dateTime(s.lastUsedAt) : t('common.none')}</td>
            <td>{s.userAgent ?? s.sourceIp ?? t('common.none')}</td>
            <td>
              {!s.current && (
                <Button
                  aria-label={t('account.endSessionOf', { when: dateTime(s.createdAt) })}
                  onPress={() => end.mutate(s.id)}
                >
                  {t('account.endSession')}
                </Button>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
    </Section>
  );
}

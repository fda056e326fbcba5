import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Button, Checkbox, CheckboxGroup, Heading, Label, Link } from 'react-aria-components';
import { api, unwrap } from '../api/client';
import { type PublicUser, type Role, ROLES, type UserPage } from '../api/records';
import { href, type PageProps } from '../app/router';
import { type MessageKey, useI18n } from '../i18n/i18n';
import { DialogForm, ModalDialog } from '../ui/dialog';
import { ErrorMessage } from '../ui/errors';
import { TextAreaInput, TextInput } from '../ui/fields';
import { DataTable } from '../ui/table';

type Action = 'roles' | 'disable' | 'enable' | 'unlock' | 'revoke' | 'reset';
type Dialogue = { kind: 'create' } | { kind: Action; user: PublicUser };

/** Every change to an account carries a reason: it is on the audit trail with the change. */
function ReasonField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const { t } = useI18n();
  return (
    <TextAreaInput
      label={t('users.reason')}
      name="reason"
      value={value}
      onChange={onChange}
      isRequired
      minLength={3}
      maxLength={500}
    />
  );
}

/** User administration (users:manage): create, roles, disable, unlock, revoke sessions, reset the password. */
export default function Users({ query }: PageProps) {
  const { t, dateTime } = useI18n();
  const cursor = query.get('cursor') ?? undefined;
  const [dialog, setDialog] = useState<Dialogue | undefined>();
  const list = useQuery({
    queryKey: ['users', cursor],
    queryFn: () =>
      unwrap(api.GET('/users', { params: { query: { limit: 50, cursor } as never } })) as Promise<UserPage>,
  });
  const users: PublicUser[] = list.data?.items ?? [];
  return (
    <>
      <div className="page-head">
        <h1>{t('users.heading')}</h1>
        <Button className="primary" onPress={() => setDialog({ kind: 'create' })}>
          {t('users.create')}
        </Button>
      </div>
      <ErrorMessage error={list.error} />
      {list.isPending ? (
        <p className="loading">{t('common.loading')}</p>
      ) : (
        <DataTable
          id="users-caption"
          caption={t('users.table')}
          columns={[
            t('users.username'),
            t('users.displayName'),
            t('users.roles'),
            t('users.state'),
            t('users.updatedAt'),
            t('users.actions'),
          ]}
        >
          {users.map((u) => (
            <tr key={u.userId}>
              <th scope="row">{u.username}</th>
              <td>{u.displayName ?? t('common.none')}</td>
              <td>
                {u.rolesFrom === 'identity-provider'
                  ? t('users.rolesFromIdp')
                  : u.roles.map((r) => t(`role.${r}` as MessageKey)).join(', ')}
              </td>
              <td>{u.disabled ? t('users.disabled') : t('users.active')}</td>
              <td>{dateTime(u.updatedAt)}</td>
              <td className="row-actions">
                {u.rolesFrom === 'local' && (
                  <Button
                    aria-label={t('users.editRolesOf', { name: u.username })}
                    onPress={() => setDialog({ kind: 'roles', user: u })}
                  >
                    {t('users.editRoles')}
                  </Button>
                )}
                <Button
                  aria-label={t(u.disabled ? 'users.enableOf' : 'users.disableOf', { name: u.username })}
                  onPress={() => setDialog({ kind: u.disabled ? 'enable' : 'disable', user: u })}
                >
                  {t(u.disabled ? 'users.enable' : 'users.disable')}
                </Button>
                <Button
                  aria-label={t('users.unlockOf', { name: u.username })}
                  onPress={() => setDialog({ kind: 'unlock', user: u })}
                >
                  {t('users.unlock')}
                </Button>
                <Button
                  aria-label={t('users.revokeOf', { name: u.username })}
                  onPress={() => setDialog({ kind: 'revoke', user: u })}
                >
                  {t('users.revoke')}
                </Button>
                {u.source === 'local' && (
                  <Button
                    aria-label={t('users.resetOf', { name: u.username })}
                    onPress={() => setDialog({ kind: 'reset', user: u })}
                  >
                    {t('users.reset')}
                  </Button>
                )}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <div className="pager">
        {cursor && <Link href={href('/users')}>{t('audit.first')}</Link>}
        {list.data?.nextCursor && (
          <Link href={href('/users', { cursor: list.data.nextCursor })}>{t('audit.next')}</Link>
        )}
      </div>
      <ModalDialog isOpen={dialog !== undefined} onClose={() => setDialog(undefined)}>
        {dialog?.kind === 'create' && <CreateUser onClose={() => setDialog(undefined)} />}
        {dialog && dialog.kind !== 'create' && (
          <UserAction action={dialog.kind} user={dialog.user} onClose={() => setDialog(undefined)} />
        )}
      </ModalDialog>
    </>
  );
}

function RolePicker({ value, onChange }: { value: Role[]; onChange: (r: Role[]) => void }) {
  const { t } = useI18n();
  return (
    <CheckboxGroup className="field" value={value} onChange={(v) => onChange(v as Role[])}>
      <Label>{t('users.roles')}</Label>
      {ROLES.map((r) => (
        <Checkbox key={r} value={r} className="checkbox">
          {t(`role.${r}` as MessageKey)}
        </Checkbox>
      ))}
    </CheckboxGroup>
  );
}

function CreateUser({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const [form, setForm] = useState({ username: '', password: '', email: '', displayName: '', reason: '' });
  const [roles, setRoles] = useState<Role[]>(['viewer']);
  const [mustChange, setMustChange] = useState(true);
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/users', {
          body: {
            username: form.username,
            password: form.password,
            roles,
            ...(form.email ? { email: form.email } : {}),
            ...(form.displayName ? { displayName: form.displayName } : {}),
            passwordChangeRequired: mustChange,
            reason: form.reason,
          } as never,
        }),
      ),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['users'] });
      onClose();
    },
  });
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  return (
    <DialogForm
      title={t('users.create')}
      onSubmit={() => create.mutate()}
      onClose={onClose}
      submit={t('users.create')}
      isDisabled={create.isPending}
      error={create.error}
    >
      <TextInput
        label={t('users.username')}
        name="username"
        value={form.username}
        onChange={set('username')}
        isRequired
        autoFocus
      />
      <TextInput
        label={t('users.initialPassword')}
        name="password"
        type="password"
        autoComplete="new-password"
        value={form.password}
        onChange={set('password')}
        isRequired
      />
      <TextInput
        label={t('users.displayName')}
        name="displayName"
        value={form.displayName}
        onChange={set('displayName')}
      />
      <TextInput label={t('users.email')} name="email" value={form.email} onChange={set('email')} />
      <Checkbox className="checkbox" isSelected={mustChange} onChange={setMustChange}>
        {t('users.mustChange')}
      </Checkbox>
      <RolePicker value={roles} onChange={setRoles} />
      <ReasonField value={form.reason} onChange={set('reason')} />
    </DialogForm>
  );
}

function UserAction({ action, user, onClose }: { action: Action; user: PublicUser; onClose: () => void }) {
  const { t } = useI18n();
  const client = useQueryClient();
  const [reason, setReason] = useState('');
  const [roles, setRoles] = useState<Role[]>(user.roles);
  const [temporary, setTemporary] = useState<string | undefined>();
  const path = { params: { path: { id: user.userId } } };
  const run = useMutation({
    mutationFn: async () => {
      switch (action) {
        case 'roles':
          return unwrap(api.PATCH('/users/{id}', { ...path, body: { roles, reason } as never }));
        case 'disable':
          return unwrap(api.DELETE('/users/{id}', { ...path, body: { reason } } as never));
        case 'enable':
          return unwrap(api.PATCH('/users/{id}', { ...path, body: { disabled: false, reason } as never }));
        case 'unlock':
          return unwrap(api.POST('/users/{id}/unlock', { ...path, body: { reason } } as never));
        case 'revoke':
          return unwrap(api.POST('/users/{id}/revoke-tokens', { ...path, body: { reason } } as never));
        case 'reset': {
          const answer = (await unwrap(
            api.POST('/users/{id}/password-reset' as never, { ...path, body: { reason } } as never),
          )) as { temporaryPassword: string };
          setTemporary(answer.temporaryPassword);
          return answer;
        }
      }
    },
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['users'] });
      if (action !== 'reset') onClose();
    },
  });
  const title = t(`users.dialog.${action}` as MessageKey, { name: user.username });
  if (temporary)
    return (
      <>
        <Heading slot="title">{title}</Heading>
        <p>{t('users.temporaryShown')}</p>
        <p>
          <code className="secret" aria-label={t('users.temporaryPassword')}>
            {temporary}
          </code>
        </p>
        <div className="dialog-buttons">
          <Button className="primary" onPress={onClose} autoFocus>
            {t('common.close')}
          </Button>
        </div>
      </>
    );
  return (
    <DialogForm
      title={title}
      onSubmit={() => run.mutate()}
      onClose={onClose}
      submit={t('users.confirm')}
      isDisabled={run.isPending}
      error={run.error}
    >
      {action === 'roles' && <RolePicker value={roles} onChange={setRoles} />}
      <ReasonField value={reason} onChange={setReason} />
    </DialogForm>
  );
}

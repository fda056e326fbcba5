import { useState } from 'react';
import { Link } from 'react-aria-components';
import { href } from '../app/router';
import { useI18n } from '../i18n/i18n';
import { TextInput } from './fields';

export function UsernameInput(props: { value: string; onChange: (v: string) => void; autoFocus?: boolean }) {
  const { t } = useI18n();
  return (
    <TextInput
      label={t('signIn.username')}
      name="username"
      autoComplete="username"
      value={props.value}
      onChange={props.onChange}
      isRequired
      autoFocus={props.autoFocus}
    />
  );
}

export interface PasswordForm {
  currentPassword?: string;
  newPassword: string;
  repeat: string;
}

/**
 * The state of a password form. `matches()` is the check at submit: it shows (or clears) the mismatch notice and
 * says whether to go on, so the notice does not flicker while the person types.
 */
export function usePasswordForm<F extends PasswordForm>(empty: F) {
  const [form, setForm] = useState(empty);
  const [mismatch, setMismatch] = useState(false);
  const matches = () => {
    const same = form.newPassword === form.repeat;
    setMismatch(!same);
    return same;
  };
  return { form, setForm, mismatch, matches, clear: () => setForm(empty) };
}

/** A new password typed twice, and the current one first when the form has `currentPassword`. */
export function PasswordFields<F extends PasswordForm>(props: {
  password: ReturnType<typeof usePasswordForm<F>>;
  repeatName?: string;
  autoFocus?: boolean;
}) {
  const { t } = useI18n();
  const { form, setForm: onChange, mismatch } = props.password;
  return (
    <>
      {form.currentPassword !== undefined && (
        <TextInput
          label={t('changePassword.current')}
          name="currentPassword"
          type="password"
          autoComplete="current-password"
          value={form.currentPassword}
          onChange={(v) => onChange({ ...form, currentPassword: v })}
          isRequired
        />
      )}
      <TextInput
        label={t('changePassword.new')}
        name="newPassword"
        type="password"
        autoComplete="new-password"
        value={form.newPassword}
        onChange={(v) => onChange({ ...form, newPassword: v })}
        isRequired
        autoFocus={props.autoFocus}
      />
      <TextInput
        label={t('changePassword.repeat')}
        name={props.repeatName ?? 'repeat'}
        type="password"
        autoComplete="new-password"
        value={form.repeat}
        onChange={(v) => onChange({ ...form, repeat: v })}
        isRequired
      />
      {mismatch && (
        <p role="alert" className="error">
          {t('changePassword.mismatch')}
        </p>
      )}
    </>
  );
}

export function BackToSignIn() {
  const { t } = useI18n();
  return (
    <p>
      <Link href={href('/')}>{t('forgot.backToSignIn')}</Link>
    </p>
  );
}

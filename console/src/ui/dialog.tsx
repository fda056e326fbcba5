import type { FormEvent, ReactNode } from 'react';
import { Button, Dialog, Form, Heading, Modal } from 'react-aria-components';
import { useI18n } from '../i18n/i18n';
import { ErrorMessage } from './errors';

/** A dismissable modal dialog; closing it (Escape, outside press) calls `onClose`. */
export function ModalDialog({
  isOpen,
  onClose,
  children,
}: {
  isOpen: boolean;
  onClose: () => void;
  children: ReactNode;
}) {
  return (
    <Modal isOpen={isOpen} onOpenChange={(open) => !open && onClose()} isDismissable className="modal">
      <Dialog className="dialog">{children}</Dialog>
    </Modal>
  );
}

/** Cancel and submit, the foot of every dialog form; submit disabled while `isDisabled` (a request under way). */
export function DialogButtons(props: { onClose: () => void; submit: string; isDisabled?: boolean }) {
  const { t } = useI18n();
  return (
    <div className="dialog-buttons">
      <Button onPress={props.onClose}>{t('common.cancel')}</Button>
      <Button type="submit" className="primary" isDisabled={props.isDisabled}>
        {props.submit}
      </Button>
    </div>
  );
}

/** A dialog's titled form: the fields as children, then the request's error and the dialog buttons. */
export function DialogForm(props: {
  title: string;
  onSubmit: () => void;
  onClose: () => void;
  submit: string;
  isDisabled?: boolean;
  error?: unknown;
  children: ReactNode;
}) {
  return (
    <>
      <Heading slot="title">{props.title}</Heading>
      <Form
        className="form"
        onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          props.onSubmit();
        }}
      >
        {props.children}
        <ErrorMessage error={props.error} />
        <DialogButtons onClose={props.onClose} submit={props.submit} isDisabled={props.isDisabled} />
      </Form>
    </>
  );
}

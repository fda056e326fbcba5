import type { ReactNode } from 'react';
import { FieldError, Input, Label, Text, TextArea, TextField } from 'react-aria-components';

/** Labelled text input; every field in the console has a real label, so people and tests find it by name. */
export function TextInput(props: {
  label: string;
  name: string;
  value?: string;
  defaultValue?: string;
  onChange?: (value: string) => void;
  type?: 'text' | 'password' | 'date' | 'number' | 'search';
  isRequired?: boolean;
  autoComplete?: string;
  description?: string;
  autoFocus?: boolean;
  inputMode?: 'numeric' | 'decimal' | 'text';
  minLength?: number;
  maxLength?: number;
  step?: string;
}) {
  const { label, description, type, inputMode, step, ...rest } = props;
  return (
    <TextField className="field" type={type === 'number' ? 'text' : type} {...rest}>
      <Label>{label}</Label>
      <Input inputMode={type === 'number' ? 'decimal' : inputMode} step={step} />
      {description && <Text slot="description">{description}</Text>}
      <FieldError />
    </TextField>
  );
}

export function TextAreaInput(props: {
  label: string;
  name: string;
  value?: string;
  defaultValue?: string;
  onChange?: (value: string) => void;
  isRequired?: boolean;
  description?: string;
  minLength?: number;
  maxLength?: number;
}) {
  const { label, description, ...rest } = props;
  return (
    <TextField className="field" {...rest}>
      <Label>{label}</Label>
      <TextArea rows={3} />
      {description && <Text slot="description">{description}</Text>}
      <FieldError />
    </TextField>
  );
}

export function Section({ title, children, id }: { title: string; children: ReactNode; id?: string }) {
  return (
    <section className="section" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

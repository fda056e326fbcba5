import { useId } from 'react';

export interface Option {
  id: string;
  label: string;
}

/**
 * The platform's own `<select>` with a real label: keyboard, screen readers and touch handle it natively, and it
 * costs nothing (React Aria's listbox-based Select adds ≈ 39 KB gzipped to a page's first load).
 */
export function SelectInput(props: {
  label: string;
  name: string;
  options: Option[];
  value?: string;
  onChange?: (value: string) => void;
  isRequired?: boolean;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        value={props.value}
        required={props.isRequired}
        onChange={(e) => props.onChange?.(e.target.value)}
      >
        {props.options.map((o) => (
          <option key={o.id} value={o.id}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

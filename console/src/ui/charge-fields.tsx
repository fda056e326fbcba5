import { type Unit, UNITS } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { TextAreaInput, TextInput } from './fields';
import { SelectInput } from './select';

export interface ChargeFieldValues {
  quantity: string;
  unit: Unit;
  productionDate: string;
  expiryDate: string;
  notes: string;
}

/** Quantity and unit, production and expiry date, notes: the fields a charge is created with and edited in. */
export function ChargeFields<F extends ChargeFieldValues>({
  form,
  onChange,
}: {
  form: F;
  onChange: (form: F) => void;
}) {
  const { t } = useI18n();
  const set = (k: keyof ChargeFieldValues) => (v: string) => onChange({ ...form, [k]: v });
  return (
    <>
      <div className="row">
        <TextInput
          label={t('field.quantity')}
          name="quantity"
          type="number"
          value={form.quantity}
          onChange={set('quantity')}
          isRequired
        />
        <SelectInput
          label={t('field.unit')}
          name="unit"
          value={form.unit}
          onChange={set('unit')}
          options={UNITS.map((u) => ({ id: u, label: u }))}
        />
      </div>
      <div className="row">
        <TextInput
          label={t('field.productionDate')}
          name="productionDate"
          type="date"
          value={form.productionDate}
          onChange={set('productionDate')}
          isRequired
        />
        <TextInput
          label={t('field.expiryDate')}
          name="expiryDate"
          type="date"
          value={form.expiryDate}
          onChange={set('expiryDate')}
        />
      </div>
      <TextAreaInput
        label={t('field.notes')}
        name="notes"
        value={form.notes}
        onChange={set('notes')}
        maxLength={2000}
      />
    </>
  );
}

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Button, Checkbox, Form } from 'react-aria-components';
import { api, unwrap } from '../api/client';
import type { Charge, NewCharge, Unit } from '../api/types';
import { navigate, type PageProps } from '../app/router';
import { useI18n } from '../i18n/i18n';
import { ErrorMessage } from '../ui/errors';
import { ChargeFields } from '../ui/charge-fields';
import { TextInput } from '../ui/fields';

export default function ChargeCreate(_: PageProps) {
  const { t } = useI18n();
  const client = useQueryClient();
  const [form, setForm] = useState({
    lotNumber: '',
    articleId: '',
    quantity: '',
    unit: 'kg' as Unit,
    productionDate: new Date().toISOString().slice(0, 10),
    expiryDate: '',
    notes: '',
    quarantine: false,
  });
  const create = useMutation({
    mutationFn: (body: NewCharge) => unwrap(api.POST('/charges', { body })) as Promise<Charge>,
    onSuccess: async (charge) => {
      await client.invalidateQueries({ queryKey: ['charges'] });
      navigate(`/charges/${charge.chargeId}`);
    },
  });

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    create.mutate({
      articleId: form.articleId,
      quantity: Number(form.quantity.replace(',', '.')),
      unit: form.unit,
      productionDate: form.productionDate,
      ...(form.lotNumber ? { lotNumber: form.lotNumber } : {}),
      ...(form.expiryDate ? { expiryDate: form.expiryDate } : {}),
      ...(form.notes ? { notes: form.notes } : {}),
      ...(form.quarantine ? { status: 'quarantine' as const } : {}),
    });
  }

  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  return (
    <>
      <h1>{t('create.heading')}</h1>
      <Form onSubmit={submit} className="form narrow">
        <TextInput
          label={t('field.articleId')}
          name="articleId"
          value={form.articleId}
          onChange={set('articleId')}
          isRequired
          maxLength={64}
        />
        <TextInput
          label={t('field.lotNumber')}
          name="lotNumber"
          value={form.lotNumber}
          onChange={set('lotNumber')}
          maxLength={40}
        />
        <ChargeFields form={form} onChange={setForm} />
        <Checkbox
          isSelected={form.quarantine}
          onChange={(v) => setForm({ ...form, quarantine: v })}
          className="checkbox"
        >
          <span className="box" aria-hidden="true" />
          {t('create.startInQuarantine')}
        </Checkbox>
        <ErrorMessage error={create.error} />
        <Button type="submit" className="primary" isDisabled={create.isPending}>
          {t('create.submit')}
        </Button>
      </Form>
    </>
  );
}

import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Button, Form, Link } from 'react-aria-components';
import { api, unwrap } from '../api/client';
import { type Charge, type ChargeStatus, STATUSES } from '../api/types';
import { href, navigate, type PageProps } from '../app/router';
import { useMe } from '../app/me';
import { useI18n } from '../i18n/i18n';
import { ErrorMessage } from '../ui/errors';
import { TextInput } from '../ui/fields';
import { SelectInput } from '../ui/select';
import { DataTable } from '../ui/table';

const FILTERS = ['status', 'articleId', 'lotNumber', 'from', 'to'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number] | 'limit' | 'cursor', string>>;

/**
 * The charge list: filters and the page cursor live in the URL, so a view can be bookmarked and shared.
 * A plain HTML table (caption, column and row headers, a link per row): read-only data needs no grid widget,
 * and React Aria's Table would add ≈ 40 KB gzipped to the page's first load.
 */
export default function ChargesList({ query }: PageProps) {
  const { t, number, date } = useI18n();
  const me = useMe();
  const filters: Filters = Object.fromEntries(
    [...FILTERS, 'limit', 'cursor'].map((k) => [k, query.get(k) ?? undefined]).filter(([, v]) => v),
  );
  const [draft, setDraft] = useState<Filters>(filters);
  const list = useQuery({
    queryKey: ['charges', filters],
    queryFn: () =>
      unwrap(
        api.GET('/charges', {
          params: {
            query: {
              ...filters,
              status: filters.status as ChargeStatus | undefined,
              limit: filters.limit ? Number(filters.limit) : 25,
            } as never,
          },
        }),
      ),
  });

  function apply(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    navigate('/charges', { ...draft, cursor: undefined, limit: filters.limit });
  }

  const canWrite = me.data?.permissions.includes('charges:write');
  const items: Charge[] = list.data?.items ?? [];
  return (
    <>
      <div className="page-head">
        <h1>{t('charges.heading')}</h1>
        {canWrite && (
          <Link className="button primary" href={href('/charges/new')}>
            {t('charges.create')}
          </Link>
        )}
      </div>
      <Form onSubmit={apply} className="filters" aria-label={t('charges.filters')}>
        <SelectInput
          label={t('charges.filter.status')}
          name="status"
          value={draft.status ?? 'any'}
          onChange={(v) => setDraft({ ...draft, status: v === 'any' ? undefined : v })}
          options={[
            { id: 'any', label: t('charges.filter.anyStatus') },
            ...STATUSES.map((s) => ({ id: s, label: t(`status.${s}`) })),
          ]}
        />
        <TextInput
          label={t('charges.filter.article')}
          name="articleId"
          value={draft.articleId ?? ''}
          onChange={(v) => setDraft({ ...draft, articleId: v || undefined })}
        />
        <TextInput
          label={t('charges.filter.lotNumber')}
          name="lotNumber"
          value={draft.lotNumber ?? ''}
          onChange={(v) => setDraft({ ...draft, lotNumber: v || undefined })}
        />
        <TextInput
          label={t('charges.filter.from')}
          name="from"
          type="date"
          value={draft.from ?? ''}
          onChange={(v) => setDraft({ ...draft, from: v || undefined })}
        />
        <TextInput
          label={t('charges.filter.to')}
          name="to"
          type="date"
          value={draft.to ?? ''}
          onChange={(v) => setDraft({ ...draft, to: v || undefined })}
        />
        <div className="filter-buttons">
          <Button type="submit" className="primary">
            {t('charges.filter.apply')}
          </Button>
          <Button
            onPress={() => {
              setDraft({});
              navigate('/charges');
            }}
          >
            {t('charges.filter.reset')}
          </Button>
        </div>
      </Form>
      <ErrorMessage error={list.error} />
      {list.isPending ? (
        <p className="loading">{t('common.loading')}</p>
      ) : (
        <DataTable
          id="table-caption"
          caption={t('charges.table')}
          columns={[
            t('field.lotNumber'),
            t('field.articleId'),
            t('field.quantity'),
            t('field.productionDate'),
            t('field.expiryDate'),
            t('field.status'),
          ]}
          empty={t('charges.empty')}
          isEmpty={items.length === 0}
        >
          {items.map((c) => (
            <tr key={c.chargeId}>
              <th scope="row">
                <Link href={href(`/charges/${c.chargeId}`)}>{c.lotNumber ?? c.chargeId.slice(0, 8)}</Link>
              </th>
              <td>{c.articleId}</td>
              <td className="num">
                {number(c.quantity)} {c.unit}
              </td>
              <td>{date(c.productionDate)}</td>
              <td>{c.expiryDate ? date(c.expiryDate) : t('common.none')}</td>
              <td>
                <span className={`status status-${c.status}`}>{t(`status.${c.status}`)}</span>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <div className="pager">
        {filters.cursor && <Link href={href('/charges', { ...filters, cursor: undefined })}>{t('charges.first')}</Link>}
        {list.data?.nextCursor && (
          <Link href={href('/charges', { ...filters, cursor: list.data.nextCursor })}>{t('charges.next')}</Link>
        )}
      </div>
    </>
  );
}

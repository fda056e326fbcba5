import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-aria-components';
import { api, unwrap } from '../api/client';
import type { Charge } from '../api/types';
import { href, type PageProps } from '../app/router';
import { useI18n, type MessageKey } from '../i18n/i18n';
import { ErrorMessage } from '../ui/errors';
import { CHARGE_FIELDS } from './charge-model';
import { show } from './ChargeDetail';

function useVersion(id: string, n: number) {
  return useQuery({
    queryKey: ['charge-version', id, n],
    // A past version never changes.
    staleTime: Infinity,
    queryFn: () =>
      unwrap(api.GET('/charges/{id}/versions/{n}', { params: { path: { id, n: String(n) } } })) as Promise<Charge>,
    enabled: Number.isInteger(n) && n > 0,
  });
}

/** Two versions side by side, every field a row, the rows that differ marked (in text too, not only by colour). */
export default function ChargeCompare({ params, query }: PageProps) {
  const id = params.id as string;
  const { t } = useI18n();
  const a = Number(query.get('a'));
  const b = Number(query.get('b'));
  const left = useVersion(id, a);
  const right = useVersion(id, b);
  const rows = CHARGE_FIELDS.map((field) => {
    const l = show(left.data?.[field as keyof Charge]);
    const r = show(right.data?.[field as keyof Charge]);
    return { id: field, field, l, r, changed: l !== r };
  });
  return (
    <>
      <p>
        <Link href={href(`/charges/${id}`)}>{t('common.back')}</Link>
      </p>
      <h1>{t('compare.heading')}</h1>
      <ErrorMessage error={left.error ?? right.error} />
      {left.data && right.data ? (
        <div className="table-wrap" role="region" aria-labelledby="table-caption" tabIndex={0}>
          <table className="table compare">
            <caption id="table-caption" className="visually-hidden">
              {t('compare.table', { a, b })}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t('compare.field')}</th>
                <th scope="col">{t('history.version', { n: a })}</th>
                <th scope="col">{t('history.version', { n: b })}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id} className={row.changed ? 'changed' : undefined}>
                  <th scope="row">
                    {t(`field.${row.field}` as MessageKey)}
                    {row.changed && <span className="changed-mark"> ({t('compare.changed')})</span>}
                  </th>
                  <td>{row.l}</td>
                  <td>{row.r}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        !(left.error ?? right.error) && <p className="loading">{t('common.loading')}</p>
      )}
    </>
  );
}

import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Button, Form, Link } from 'react-aria-components';
import { api, downloadFile, unwrap } from '../api/client';
import type { AuditPage, AuditRecord, VerifyResult } from '../api/records';
import { href, navigate, type PageProps } from '../app/router';
import { type MessageKey, useI18n } from '../i18n/i18n';
import { ErrorMessage } from '../ui/errors';
import { TextInput } from '../ui/fields';
import { SelectInput } from '../ui/select';

const FILTERS = ['entityType', 'entityId', 'actor', 'action', 'from', 'to'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number] | 'cursor', string>>;
const ENTITY_TYPES = ['charge', 'user', 'report-definition', 'dashboard', 'service-account', 'key'] as const;

/** A value as the audit trail holds it, shown as text: JSON for anything that is not a plain string. */
function show(value: unknown, none: string): string {
  if (value === null || value === undefined) return none;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The audit explorer: search by entity, actor, action and time; each record with who/what/when/why and every
 * changed field's old → new value; for one entity, its chain's verification and the digest that vouches for it.
 * Filters live in the URL, so a search can be bookmarked and handed on.
 */
export default function AuditExplorer({ query }: PageProps) {
  const { t } = useI18n();
  const filters: Filters = Object.fromEntries(
    [...FILTERS, 'cursor'].map((k) => [k, query.get(k) ?? undefined]).filter(([, v]) => v),
  );
  const [draft, setDraft] = useState<Filters>(filters);
  const [exportError, setExportError] = useState<unknown>();
  const page = useQuery({
    queryKey: ['audit', filters],
    queryFn: () =>
      unwrap(api.GET('/audit', { params: { query: { ...filters, limit: 50 } as never } })) as Promise<AuditPage>,
  });
  const entity = filters.entityType && filters.entityId ? { type: filters.entityType, id: filters.entityId } : null;

  function apply(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    navigate('/audit', { ...draft, cursor: undefined });
  }

  function exportShown(format: 'csv' | 'xlsx') {
    setExportError(undefined);
    const q = new URLSearchParams();
    for (const k of FILTERS) if (filters[k]) q.set(k, filters[k] as string);
    downloadFile(`/reports/audit.${format}?${q.toString()}`, `audit.${format}`).catch(setExportError);
  }

  const records: AuditRecord[] = page.data?.items ?? [];
  const input = (name: (typeof FILTERS)[number], label: MessageKey, type?: 'date') => (
    <TextInput
      label={t(label)}
      name={name}
      type={type}
      value={draft[name] ?? ''}
      onChange={(v) => setDraft({ ...draft, [name]: v || undefined })}
    />
  );

  return (
    <>
      <h1>{t('audit.heading')}</h1>
      <Form onSubmit={apply} className="filters" aria-label={t('audit.filters')}>
        <SelectInput
          label={t('audit.entityType')}
          name="entityType"
          value={draft.entityType ?? 'any'}
          onChange={(v) => setDraft({ ...draft, entityType: v === 'any' ? undefined : v })}
          options={[
            { id: 'any', label: t('audit.anyEntity') },
            ...ENTITY_TYPES.map((e) => ({ id: e, label: t(`audit.entity.${e}` as MessageKey) })),
          ]}
        />
        {input('entityId', 'audit.entityId')}
        {input('actor', 'audit.actor')}
        {input('action', 'audit.action')}
        {input('from', 'audit.from', 'date')}
        {input('to', 'audit.to', 'date')}
        <div className="filter-buttons">
          <Button type="submit" className="primary">
            {t('audit.search')}
          </Button>
          <Button
            onPress={() => {
              setDraft({});
              navigate('/audit');
            }}
          >
            {t('audit.reset')}
          </Button>
        </div>
      </Form>
      {entity && <ChainState type={entity.type} id={entity.id} />}
      <div className="page-head">
        <h2>{t('audit.records')}</h2>
        <div className="filter-buttons">
          <Button onPress={() => exportShown('csv')}>{t('audit.exportCsv')}</Button>
          <Button onPress={() => exportShown('xlsx')}>{t('audit.exportXlsx')}</Button>
        </div>
      </div>
      <ErrorMessage error={exportError} />
      <ErrorMessage error={page.error} />
      {page.isPending ? (
        <p className="loading">{t('common.loading')}</p>
      ) : records.length === 0 ? (
        <p>{t('audit.empty')}</p>
      ) : (
        <ol className="timeline" aria-label={t('audit.timeline')}>
          {records.map((r) => (
            <AuditEntry key={r.auditId} record={r} />
          ))}
        </ol>
      )}
      <div className="pager">
        {filters.cursor && <Link href={href('/audit', { ...filters, cursor: undefined })}>{t('audit.first')}</Link>}
        {page.data?.nextCursor && (
          <Link href={href('/audit', { ...filters, cursor: page.data.nextCursor })}>{t('audit.next')}</Link>
        )}
      </div>
    </>
  );
}

function AuditEntry({ record: r }: { record: AuditRecord }) {
  const { t, dateTime } = useI18n();
  const none = t('common.none');
  const changes = Object.entries(r.changes ?? {}) as [string, { from?: unknown; to?: unknown }][];
  return (
    <li className="timeline-item">
      <p>
        <strong>{dateTime(r.at)}</strong> · {r.action} ·{' '}
        <Link href={href('/audit', { entityType: r.entityType, entityId: r.entityId })}>
          {t(`audit.entity.${r.entityType}` as MessageKey) ?? r.entityType} {r.entityId}
        </Link>
      </p>
      <p>
        {t('audit.by', { actor: r.actor.username })}
        {r.reason ? ` — ${t('audit.reason')}: ${r.reason}` : ''}
        {r.version !== null ? ` · ${t('audit.version', { version: r.version })}` : ''}
      </p>
      {changes.length > 0 && (
        <table className="table changes">
          <caption className="visually-hidden">{t('audit.changesOf', { seq: r.seq })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('audit.field')}</th>
              <th scope="col">{t('audit.old')}</th>
              <th scope="col">{t('audit.new')}</th>
            </tr>
          </thead>
          <tbody>
            {changes.map(([field, c]) => (
              <tr key={field}>
                <th scope="row" className="field-name">
                  {field}
                </th>
                <td>{show(c?.from, none)}</td>
                <td>{show(c?.to, none)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="hash">
        {t('audit.seq', { seq: r.seq })} · <code title={r.hash}>{r.hash.slice(0, 16)}…</code>
      </p>
    </li>
  );
}

/** The chain of one entity: recomputed by the server and checked against the newest digest that covers it. */
function ChainState({ type, id }: { type: string; id: string }) {
  const { t } = useI18n();
  const verify = useQuery({
    queryKey: ['audit-verify', type, id],
    queryFn: () =>
      unwrap(
        api.GET('/audit/verify', { params: { query: { entityType: type, entityId: id } as never } }),
      ) as Promise<VerifyResult>,
  });
  const v = verify.data;
  return (
    <section className="section" aria-labelledby="chain-heading">
      <h2 id="chain-heading">{t('audit.chain')}</h2>
      <ErrorMessage error={verify.error} />
      {verify.isPending && <p className="loading">{t('common.loading')}</p>}
      {v && (
        <div role="status" className={v.valid ? 'notice' : 'error'}>
          <p>
            {v.valid ? t('audit.chainValid', { records: v.records }) : t('audit.chainBroken', { records: v.records })}
          </p>
          {!v.valid && v.reason && <p>{t('audit.chainReason', { reason: v.reason })}</p>}
          {v.brokenAt && <p>{t('audit.brokenAt', { seq: v.brokenAt.seq, problem: v.brokenAt.problem })}</p>}
          {v.anchoredBy ? (
            <p>{t('audit.anchoredBy', { digest: v.anchoredBy.digestId, seq: v.anchoredBy.seq })}</p>
          ) : (
            <p>{t('audit.notAnchored')}</p>
          )}
        </div>
      )}
    </section>
  );
}

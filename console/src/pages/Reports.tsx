import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Button, Link } from 'react-aria-components';
import { api, downloadFile, unwrap } from '../api/client';
import type { Definition, DefinitionPage, NewDefinition, Run, RunPage } from '../api/records';
import { href, type PageProps } from '../app/router';
import { useMe } from '../app/me';
import { type MessageKey, useI18n } from '../i18n/i18n';
import { DialogForm, ModalDialog } from '../ui/dialog';
import { ErrorMessage } from '../ui/errors';
import { Section, TextInput } from '../ui/fields';
import { SelectInput } from '../ui/select';
import { DataTable } from '../ui/table';
import { nextRuns, parseEventBridgeCron } from '../../../functions/reports/delivery/cron';

/** Reports: the definitions (reports:manage) with a cron helper, "run now", and the runs with their files. */
export default function Reports() {
  const { t } = useI18n();
  const me = useMe();
  const manage = me.data?.permissions.includes('reports:manage') ?? false;
  const [creating, setCreating] = useState(false);
  return (
    <>
      <div className="page-head">
        <h1>{t('reports.heading')}</h1>
        {manage && (
          <Button className="primary" onPress={() => setCreating(true)}>
            {t('reports.create')}
          </Button>
        )}
      </div>
      {manage && <Definitions />}
      <Runs />
      <ModalDialog isOpen={creating} onClose={() => setCreating(false)}>
        <CreateDefinition onClose={() => setCreating(false)} />
      </ModalDialog>
    </>
  );
}

function Definitions() {
  const { t, dateTime } = useI18n();
  const client = useQueryClient();
  const list = useQuery({
    queryKey: ['definitions'],
    queryFn: () =>
      unwrap(
        api.GET('/reports/definitions', { params: { query: { limit: 100 } as never } }),
      ) as Promise<DefinitionPage>,
  });
  const run = useMutation({
    mutationFn: (id: string) =>
      unwrap(api.POST('/reports/definitions/{id}/run', { params: { path: { id } } })) as Promise<Run>,
    onSuccess: () => client.invalidateQueries({ queryKey: ['runs'] }),
  });
  const items: Definition[] = list.data?.items ?? [];
  return (
    <Section title={t('reports.definitions')} id="definitions-heading">
      <ErrorMessage error={list.error ?? run.error} />
      {run.isSuccess && (
        <p role="status" className="notice">
          {t('reports.started')}
        </p>
      )}
      <DataTable
        id="definitions-caption"
        caption={t('reports.definitions')}
        columns={[
          t('reports.name'),
          t('reports.title'),
          t('reports.kind'),
          t('reports.format'),
          t('reports.schedule'),
          t('reports.nextRuns'),
          t('users.actions'),
        ]}
        empty={t('reports.noDefinitions')}
        isEmpty={items.length === 0}
      >
        {items.map((d) => (
          <tr key={d.definitionId}>
            <th scope="row">{d.name}</th>
            <td>{d.title}</td>
            <td>{t(`reports.kind.${d.kind}` as MessageKey)}</td>
            <td>{d.format.toUpperCase()}</td>
            <td>{d.schedule ? `${d.schedule} (${d.timezone})` : t('reports.onDemand')}</td>
            <td>{d.nextRuns.length ? d.nextRuns.map((r) => dateTime(r)).join('; ') : t('common.none')}</td>
            <td>
              <Button aria-label={t('reports.runNowOf', { name: d.name })} onPress={() => run.mutate(d.definitionId)}>
                {t('reports.runNow')}
              </Button>
            </td>
          </tr>
        ))}
      </DataTable>
    </Section>
  );
}

/** The next fire times of a cron expression in a zone, as the scheduler will compute them; an error text when invalid. */
function usePreview(schedule: string, timezone: string): { runs: Date[]; error?: string } {
  return useMemo(() => {
    if (!schedule.trim()) return { runs: [] };
    try {
      const { expression } = parseEventBridgeCron(schedule);
      return { runs: nextRuns(expression, timezone || 'UTC', 3) };
    } catch (err) {
      return { runs: [], error: err instanceof Error ? err.message : String(err) };
    }
  }, [schedule, timezone]);
}

function CreateDefinition({ onClose }: { onClose: () => void }) {
  const { t, dateTime } = useI18n();
  const client = useQueryClient();
  const [form, setForm] = useState({
    name: '',
    title: '',
    kind: 'charges',
    format: 'pdf',
    lang: 'de',
    schedule: '0 6 ? * MON *',
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    recipients: '',
    from: 'P7D',
  });
  const preview = usePreview(form.schedule, form.timezone);
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const create = useMutation({
    mutationFn: () => {
      const body: NewDefinition = {
        name: form.name,
        title: form.title,
        kind: form.kind as NewDefinition['kind'],
        format: form.format as NewDefinition['format'],
        lang: form.lang as NewDefinition['lang'],
        schedule: form.schedule.trim() || null,
        timezone: form.timezone,
        recipients: form.recipients
          .split(/[\s,;]+/)
          .map((r) => r.trim())
          .filter(Boolean),
        filters: form.from ? { from: form.from } : {},
      };
      return unwrap(api.POST('/reports/definitions', { body }));
    },
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['definitions'] });
      onClose();
    },
  });
  return (
    <DialogForm
      title={t('reports.create')}
      onSubmit={() => create.mutate()}
      onClose={onClose}
      submit={t('reports.create')}
      isDisabled={create.isPending}
      error={create.error}
    >
      <TextInput label={t('reports.name')} name="name" value={form.name} onChange={set('name')} isRequired autoFocus />
      <TextInput label={t('reports.title')} name="title" value={form.title} onChange={set('title')} isRequired />
      <div className="row">
        <SelectInput
          label={t('reports.kind')}
          name="kind"
          value={form.kind}
          onChange={set('kind')}
          options={[
            { id: 'charges', label: t('reports.kind.charges') },
            { id: 'audit', label: t('reports.kind.audit') },
          ]}
        />
        <SelectInput
          label={t('reports.format')}
          name="format"
          value={form.format}
          onChange={set('format')}
          options={['pdf', 'xlsx', 'csv'].map((f) => ({ id: f, label: f.toUpperCase() }))}
        />
        <SelectInput
          label={t('lang.label')}
          name="lang"
          value={form.lang}
          onChange={set('lang')}
          options={[
            { id: 'de', label: t('lang.de') },
            { id: 'en', label: t('lang.en') },
          ]}
        />
      </div>
      <TextInput
        label={t('reports.window')}
        name="from"
        value={form.from}
        onChange={set('from')}
        description={t('reports.windowHint')}
      />
      <TextInput
        label={t('reports.schedule')}
        name="schedule"
        value={form.schedule}
        onChange={set('schedule')}
        description={t('reports.scheduleHint')}
      />
      <TextInput label={t('reports.timezone')} name="timezone" value={form.timezone} onChange={set('timezone')} />
      <div aria-live="polite" className="cron-preview">
        {preview.error ? (
          <p className="error">{preview.error}</p>
        ) : preview.runs.length > 0 ? (
          <>
            <p>{t('reports.nextRuns')}:</p>
            <ul>
              {preview.runs.map((r) => (
                <li key={r.toISOString()}>{dateTime(r.toISOString())}</li>
              ))}
            </ul>
          </>
        ) : null}
      </div>
      <TextInput
        label={t('reports.recipients')}
        name="recipients"
        value={form.recipients}
        onChange={set('recipients')}
        description={t('reports.recipientsHint')}
      />
    </DialogForm>
  );
}

function Runs() {
  const { t } = useI18n();
  const list = useQuery({
    queryKey: ['runs'],
    queryFn: () => unwrap(api.GET('/reports/runs', { params: { query: { limit: 50 } as never } })) as Promise<RunPage>,
    refetchInterval: (q) =>
      (q.state.data as RunPage | undefined)?.items.some((r) => r.status === 'running') ? 2000 : false,
  });
  const items: Run[] = list.data?.items ?? [];
  return (
    <Section title={t('reports.runs')} id="runs-heading">
      <ErrorMessage error={list.error} />
      <RunTable runs={items} />
    </Section>
  );
}

function RunTable({ runs }: { runs: Run[] }) {
  const { t, dateTime, number } = useI18n();
  const [error, setError] = useState<unknown>();
  return (
    <>
      <ErrorMessage error={error} />
      <DataTable
        id="runs-caption"
        caption={t('reports.runs')}
        columns={[t('reports.name'), t('reports.startedAt'), t('reports.status'), t('reports.rows'), t('reports.file')]}
        empty={t('reports.noRuns')}
        isEmpty={runs.length === 0}
      >
        {runs.map((r) => (
          <tr key={r.runId}>
            <th scope="row">
              <Link href={href(`/reports/runs/${r.runId}`)}>{r.definitionName}</Link>
            </th>
            <td>{dateTime(r.startedAt)}</td>
            <td>
              {t(`reports.status.${r.status}` as MessageKey)}
              {r.error ? ` — ${r.error}` : ''}
            </td>
            <td className="num">{r.rows === null ? t('common.none') : number(r.rows)}</td>
            <td>
              {r.filename && r.status === 'succeeded' ? (
                <Button
                  aria-label={t('reports.downloadOf', { name: r.filename })}
                  onPress={() => {
                    setError(undefined);
                    downloadFile(`/reports/runs/${encodeURIComponent(r.runId)}/download`, r.filename!).catch(setError);
                  }}
                >
                  {t('reports.download')}
                </Button>
              ) : (
                t('common.none')
              )}
            </td>
          </tr>
        ))}
      </DataTable>
    </>
  );
}

/** One run — where the link in a report mail lands after sign-in. */
export function RunPage({ params }: PageProps) {
  const { t } = useI18n();
  const id = params.id as string;
  const run = useQuery({
    queryKey: ['run', id],
    queryFn: () => unwrap(api.GET('/reports/runs/{id}', { params: { path: { id } } })) as Promise<Run>,
  });
  return (
    <>
      <p>
        <Link href={href('/reports')}>{t('common.back')}</Link>
      </p>
      <h1>{t('reports.run', { name: run.data?.definitionName ?? id })}</h1>
      <ErrorMessage error={run.error} />
      {run.data && <RunTable runs={[run.data]} />}
    </>
  );
}

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, lazy, Suspense, useState } from 'react';
import { Button, Checkbox, Form, Link } from 'react-aria-components';
import { api, unwrap } from '../api/client';
import { href, navigate, type PageProps } from '../app/router';
import { useMe } from '../app/me';
import { type MessageKey, useI18n } from '../i18n/i18n';
import { DialogForm, ModalDialog } from '../ui/dialog';
import { ErrorMessage } from '../ui/errors';
import { TextInput } from '../ui/fields';
import { SelectInput } from '../ui/select';
import {
  type Dashboard,
  type DashboardList,
  GRID_COLUMNS,
  seriesCsv,
  type SeriesAnswer,
  type Widget,
  type WidgetType,
  WIDGET_TYPES,
} from './dashboard-model';

// Chart.js comes with the first chart, never with the console's first load.
const Chart = lazy(() => import('./DashboardChart'));

async function fetchDashboard(id: string): Promise<{ dashboard: Dashboard; etag: string }> {
  const { data, error, response } = await api.GET('/dashboards/{id}' as never, { params: { path: { id } } } as never);
  if (!response.ok) await unwrap(Promise.resolve({ data, error, response }));
  return { dashboard: data as unknown as Dashboard, etag: response.headers.get('ETag') ?? '' };
}

/** Dashboards: the list (own and shared), and one dashboard drawn on a 24-column grid, editable by who may. */
export default function Dashboards({ params }: PageProps) {
  return params.id ? <DashboardView id={params.id} /> : <DashboardIndex />;
}

function DashboardIndex() {
  const { t } = useI18n();
  const me = useMe();
  const client = useQueryClient();
  const [title, setTitle] = useState('');
  const [shared, setShared] = useState(false);
  const list = useQuery({
    queryKey: ['dashboards'],
    queryFn: () => unwrap(api.GET('/dashboards' as never)) as Promise<DashboardList>,
  });
  const create = useMutation({
    mutationFn: () =>
      unwrap(api.POST('/dashboards' as never, { body: { title, shared, widgets: [] } } as never)) as Promise<Dashboard>,
    onSuccess: async (d) => {
      await client.invalidateQueries({ queryKey: ['dashboards'] });
      navigate(`/dashboards/${d.id}`);
    },
  });
  const canShare = me.data?.permissions.includes('reports:manage') ?? false;
  return (
    <>
      <h1>{t('dash.heading')}</h1>
      <ErrorMessage error={list.error} />
      <ul className="dash-list">
        {(list.data?.items ?? []).map((d) => (
          <li key={d.id}>
            <Link href={href(`/dashboards/${d.id}`)}>{d.title}</Link>{' '}
            <span className="muted">
              {d.shared ? t('dash.shared') : t('dash.own')} · {t('dash.widgetCount', { n: d.widgets.length })}
            </span>
          </li>
        ))}
      </ul>
      <Form
        className="form"
        aria-label={t('dash.create')}
        onSubmit={(e: FormEvent<HTMLFormElement>) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <h2>{t('dash.create')}</h2>
        <TextInput label={t('dash.title')} name="title" value={title} onChange={setTitle} isRequired maxLength={120} />
        {canShare && (
          <Checkbox className="checkbox" isSelected={shared} onChange={setShared}>
            {t('dash.shareIt')}
          </Checkbox>
        )}
        <ErrorMessage error={create.error} />
        <Button type="submit" className="primary">
          {t('dash.create')}
        </Button>
      </Form>
    </>
  );
}

function DashboardView({ id }: { id: string }) {
  const { t } = useI18n();
  const me = useMe();
  const client = useQueryClient();
  const loaded = useQuery({ queryKey: ['dashboard', id], queryFn: () => fetchDashboard(id) });
  const [draft, setDraft] = useState<Widget[] | undefined>();
  const [adding, setAdding] = useState(false);
  const d = loaded.data?.dashboard;
  const save = useMutation({
    mutationFn: (widgets: Widget[]) =>
      unwrap(
        api.PUT(
          '/dashboards/{id}' as never,
          {
            params: { path: { id }, header: { 'If-Match': loaded.data!.etag } },
            body: { title: d!.title, shared: d!.shared, widgets },
          } as never,
        ),
      ),
    onSuccess: async () => {
      setDraft(undefined);
      await client.invalidateQueries({ queryKey: ['dashboard', id] });
      await client.invalidateQueries({ queryKey: ['dashboards'] });
    },
  });
  const remove = useMutation({
    mutationFn: () =>
      unwrap(
        api.DELETE(
          '/dashboards/{id}' as never,
          {
            params: { path: { id }, header: { 'If-Match': loaded.data!.etag } },
          } as never,
        ),
      ),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ['dashboards'] });
      navigate('/dashboards');
    },
  });
  if (loaded.error) return <ErrorMessage error={loaded.error} />;
  if (!d || !me.data) return <p className="loading">{t('common.loading')}</p>;
  const mayEdit = d.shared ? me.data.permissions.includes('reports:manage') : d.owner.userId === me.data.userId;
  const editing = draft !== undefined;
  const widgets = draft ?? d.widgets;
  const change = (i: number, next: Widget | undefined) => {
    const copy = [...widgets];
    if (next) copy[i] = next;
    else copy.splice(i, 1);
    setDraft(copy);
  };

  return (
    <>
      <p>
        <Link href={href('/dashboards')}>{t('common.back')}</Link>
      </p>
      <div className="page-head">
        <h1>{d.title}</h1>
        {mayEdit && (
          <div className="filter-buttons">
            {editing ? (
              <>
                <Button onPress={() => setAdding(true)}>{t('dash.addWidget')}</Button>
                <Button className="primary" onPress={() => save.mutate(widgets)}>
                  {t('common.save')}
                </Button>
                <Button onPress={() => setDraft(undefined)}>{t('common.cancel')}</Button>
              </>
            ) : (
              <>
                <Button onPress={() => setDraft(d.widgets)}>{t('dash.edit')}</Button>
                <Button onPress={() => remove.mutate()}>{t('dash.delete')}</Button>
              </>
            )}
          </div>
        )}
      </div>
      <ErrorMessage error={save.error ?? remove.error} />
      {widgets.length === 0 && <p>{t('dash.empty')}</p>}
      <div className="dash-grid">
        {widgets.map((w, i) => (
          <WidgetCard key={w.id} widget={w} editing={editing} onChange={(next) => change(i, next)} />
        ))}
      </div>
      <ModalDialog isOpen={adding} onClose={() => setAdding(false)}>
        <WidgetForm
          onClose={() => setAdding(false)}
          onAdd={(w) => {
            const y = widgets.reduce((m, x) => Math.max(m, x.layout.y + x.layout.h), 0);
            setDraft([...widgets, { ...w, layout: { x: 0, y, w: 12, h: 6 } }]);
            setAdding(false);
          }}
        />
      </ModalDialog>
    </>
  );
}

function useWidgetData(widget: Widget) {
  const path = widget.query.endpoint === 'qa' ? '/analytics/qa' : '/analytics/charges';
  return useQuery({
    queryKey: ['analytics', path, widget.query.params],
    queryFn: () =>
      unwrap(api.GET(path as never, { params: { query: widget.query.params } } as never)) as Promise<SeriesAnswer>,
  });
}

/** One widget: its chart (or number, or table), a data table for every chart, CSV of its data, and layout buttons while editing. */
function WidgetCard({
  widget,
  editing,
  onChange,
}: {
  widget: Widget;
  editing: boolean;
  onChange: (w: Widget | undefined) => void;
}) {
  const { t, number } = useI18n();
  const data = useWidgetData(widget);
  const { x, y, w, h } = widget.layout;
  const move = (dx: number, dy: number, dw = 0, dh = 0) => {
    const nw = Math.min(GRID_COLUMNS, Math.max(3, w + dw));
    const nx = Math.min(GRID_COLUMNS - nw, Math.max(0, x + dx));
    onChange({ ...widget, layout: { x: nx, y: Math.max(0, y + dy), w: nw, h: Math.min(24, Math.max(2, h + dh)) } });
  };
  function download() {
    if (!data.data) return;
    const blob = new Blob([seriesCsv(data.data)], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `${widget.id}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  const total = data.data?.series.reduce((sum, s) => sum + s.points.reduce((a, p) => a + (p.value ?? 0), 0), 0);
  return (
    <section
      className="dash-widget"
      // Grid placement through the CSSOM (not a style attribute in markup), which the strict CSP allows.
      style={{ gridColumn: `${x + 1} / span ${w}`, gridRow: `${y + 1} / span ${h}` }}
      aria-labelledby={`w-${widget.id}`}
      data-layout={`${x},${y},${w},${h}`}
    >
      <h2 id={`w-${widget.id}`}>{widget.title}</h2>
      <ErrorMessage error={data.error} />
      {data.isPending && <p className="loading">{t('common.loading')}</p>}
      {data.data && widget.type === 'kpi' && <p className="kpi">{number(total ?? 0)}</p>}
      {data.data && widget.type !== 'kpi' && widget.type !== 'table' && (
        <Suspense fallback={<p className="loading">{t('common.loading')}</p>}>
          <Chart type={widget.type} data={data.data} label={widget.title} />
        </Suspense>
      )}
      {data.data && <DataTable data={data.data} title={widget.title} open={widget.type === 'table'} />}
      <div className="widget-buttons">
        <Button aria-label={t('dash.csvOf', { title: widget.title })} onPress={download}>
          CSV
        </Button>
        {editing && (
          <>
            <Button aria-label={t('dash.moveLeft', { title: widget.title })} onPress={() => move(-3, 0)}>
              ←
            </Button>
            <Button aria-label={t('dash.moveRight', { title: widget.title })} onPress={() => move(3, 0)}>
              →
            </Button>
            <Button aria-label={t('dash.moveUp', { title: widget.title })} onPress={() => move(0, -1)}>
              ↑
            </Button>
            <Button aria-label={t('dash.moveDown', { title: widget.title })} onPress={() => move(0, 1)}>
              ↓
            </Button>
            <Button aria-label={t('dash.wider', { title: widget.title })} onPress={() => move(0, 0, 3)}>
              ⇔+
            </Button>
            <Button aria-label={t('dash.narrower', { title: widget.title })} onPress={() => move(0, 0, -3)}>
              ⇔−
            </Button>
            <Button aria-label={t('dash.taller', { title: widget.title })} onPress={() => move(0, 0, 0, 1)}>
              ⇕+
            </Button>
            <Button aria-label={t('dash.shorter', { title: widget.title })} onPress={() => move(0, 0, 0, -1)}>
              ⇕−
            </Button>
            <Button aria-label={t('dash.removeWidget', { title: widget.title })} onPress={() => onChange(undefined)}>
              {t('dash.remove')}
            </Button>
          </>
        )}
      </div>
    </section>
  );
}

/** The chart's numbers as a table: the accessible alternative to every chart, and the `table` widget itself. */
function DataTable({ data, title, open }: { data: SeriesAnswer; title: string; open: boolean }) {
  const { t, number, date } = useI18n();
  const times = [...new Set(data.series.flatMap((s) => s.points.map((p) => p.t)))].sort();
  const table = (
    <div className="table-wrap" role="region" aria-label={t('dash.dataOf', { title })} tabIndex={0}>
      <table className="table">
        <caption className="visually-hidden">{t('dash.dataOf', { title })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('dash.period')}</th>
            {data.series.map((s) => (
              <th scope="col" key={s.key}>
                {s.key}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {times.map((time) => (
            <tr key={time}>
              <th scope="row">{date(time)}</th>
              {data.series.map((s) => {
                const v = s.points.find((p) => p.t === time)?.value;
                return (
                  <td key={s.key} className="num">
                    {v === null || v === undefined ? t('common.none') : number(v)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
  if (open) return table;
  return (
    <details>
      <summary>{t('dash.showData')}</summary>
      {table}
    </details>
  );
}

const RANGES = ['P7D', 'P30D', 'P12W', 'P6M', 'P12M'] as const;

function WidgetForm({ onAdd, onClose }: { onAdd: (w: Omit<Widget, 'layout'>) => void; onClose: () => void }) {
  const { t } = useI18n();
  const [form, setForm] = useState({
    title: '',
    type: 'bar' as WidgetType,
    endpoint: 'charges' as 'charges' | 'qa',
    measure: 'count',
    groupBy: 'status',
    interval: 'week',
    from: 'P30D',
    status: '',
    articleId: '',
    unit: '',
  });
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const chargesGroups = ['status', 'article', 'unit', 'day', 'week', 'month'];
  const submit = () => {
    const params: Record<string, string> =
      form.endpoint === 'qa'
        ? { measure: form.measure, groupBy: form.interval, from: form.from }
        : {
            measure: form.measure,
            groupBy: form.groupBy,
            from: form.from,
            ...(['status', 'article', 'unit'].includes(form.groupBy) && form.type !== 'pie' && form.type !== 'kpi'
              ? { interval: form.interval }
              : {}),
            ...(form.status ? { status: form.status } : {}),
            ...(form.articleId ? { articleId: form.articleId } : {}),
            ...(form.unit ? { unit: form.unit } : {}),
          };
    const id = `w${Date.now().toString(36)}`;
    onAdd({ id, title: form.title, type: form.type, query: { endpoint: form.endpoint, params } as Widget['query'] });
  };
  const measures = form.endpoint === 'qa' ? ['decisions', 'lead_time', 'rejection_rate'] : ['count', 'quantity'];
  return (
    <DialogForm title={t('dash.addWidget')} onSubmit={submit} onClose={onClose} submit={t('dash.addWidget')}>
      <TextInput
        label={t('dash.widgetTitle')}
        name="title"
        value={form.title}
        onChange={set('title')}
        isRequired
        autoFocus
      />
      <div className="row">
        <SelectInput
          label={t('dash.type')}
          name="type"
          value={form.type}
          onChange={set('type')}
          options={WIDGET_TYPES.map((w) => ({ id: w, label: t(`dash.type.${w}` as MessageKey) }))}
        />
        <SelectInput
          label={t('dash.source')}
          name="endpoint"
          value={form.endpoint}
          onChange={(v) =>
            setForm({ ...form, endpoint: v as 'charges' | 'qa', measure: v === 'qa' ? 'decisions' : 'count' })
          }
          options={[
            { id: 'charges', label: t('dash.source.charges') },
            { id: 'qa', label: t('dash.source.qa') },
          ]}
        />
        <SelectInput
          label={t('dash.measure')}
          name="measure"
          value={form.measure}
          onChange={set('measure')}
          options={measures.map((m) => ({ id: m, label: t(`dash.measure.${m}` as MessageKey) }))}
        />
      </div>
      <div className="row">
        {form.endpoint === 'charges' && (
          <SelectInput
            label={t('dash.groupBy')}
            name="groupBy"
            value={form.groupBy}
            onChange={set('groupBy')}
            options={chargesGroups.map((g) => ({ id: g, label: t(`dash.group.${g}` as MessageKey) }))}
          />
        )}
        <SelectInput
          label={t('dash.interval')}
          name="interval"
          value={form.interval}
          onChange={set('interval')}
          options={['day', 'week', 'month'].map((g) => ({ id: g, label: t(`dash.group.${g}` as MessageKey) }))}
        />
        <SelectInput
          label={t('dash.range')}
          name="from"
          value={form.from}
          onChange={set('from')}
          options={RANGES.map((r) => ({ id: r, label: t(`dash.range.${r}` as MessageKey) }))}
        />
      </div>
      {form.endpoint === 'charges' && (
        <div className="row">
          <TextInput label={t('charges.filter.status')} name="status" value={form.status} onChange={set('status')} />
          <TextInput
            label={t('charges.filter.article')}
            name="articleId"
            value={form.articleId}
            onChange={set('articleId')}
          />
          <TextInput label={t('field.unit')} name="unit" value={form.unit} onChange={set('unit')} />
        </div>
      )}
    </DialogForm>
  );
}

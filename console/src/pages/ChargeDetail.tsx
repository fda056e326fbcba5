import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import { Button, Form, Heading, Link } from 'react-aria-components';
import { api, downloadFile, unwrap } from '../api/client';
import type { Charge, ChargePatch, ChargeStatus, HistoryPage, SignatureInput } from '../api/types';
import { href, navigate, type PageProps } from '../app/router';
import { useMe } from '../app/me';
import { useI18n } from '../i18n/i18n';
import { ChargeFields } from '../ui/charge-fields';
import { DialogButtons, DialogForm, ModalDialog } from '../ui/dialog';
import { ErrorMessage } from '../ui/errors';
import { TextAreaInput, TextInput } from '../ui/fields';
import { SelectInput } from '../ui/select';
import { actionsFor, QA_MEANING, SIGNED_MESSAGE } from './charge-model';

export function useCharge(id: string) {
  return useQuery({
    queryKey: ['charge', id],
    queryFn: () => unwrap(api.GET('/charges/{id}', { params: { path: { id } } })) as Promise<Charge>,
  });
}

/** A PATCH with the version read as If-Match: a change made meanwhile by someone else is 412, never overwritten. */
function usePatchCharge(charge: Charge | undefined, onDone: () => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ChargePatch) =>
      unwrap(
        api.PATCH('/charges/{id}', {
          params: { path: { id: charge!.chargeId }, header: { 'If-Match': `"${charge!.version}"` } },
          body,
        }),
      ),
    onSuccess: async () => {
      await Promise.all([
        client.invalidateQueries({ queryKey: ['charge', charge!.chargeId] }),
        client.invalidateQueries({ queryKey: ['history', charge!.chargeId] }),
        client.invalidateQueries({ queryKey: ['charges'] }),
      ]);
      onDone();
    },
  });
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="dl-row">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export default function ChargeDetail({ params }: PageProps) {
  const id = params.id as string;
  const { t, lang, number, date, dateTime } = useI18n();
  const me = useMe();
  const charge = useCharge(id);
  const [dialog, setDialog] = useState<{ kind: 'edit' } | { kind: 'status'; to: ChargeStatus } | undefined>();
  const [downloadError, setDownloadError] = useState<unknown>();
  const c = charge.data;
  if (charge.error) return <ErrorMessage error={charge.error} />;
  if (!c) return <p className="loading">{t('common.loading')}</p>;
  const permissions = me.data?.permissions ?? [];
  const lot = c.lotNumber ?? c.chargeId;
  const actions = actionsFor(c.status, permissions);

  return (
    <>
      <p>
        <Link href={href('/charges')}>{t('common.back')}</Link>
      </p>
      <h1>{t('detail.heading', { lot })}</h1>
      <div className="detail-grid">
        <section aria-labelledby="data-heading" className="section">
          <h2 id="data-heading">{t('detail.data')}</h2>
          <dl className="dl">
            <Field label={t('field.lotNumber')}>{c.lotNumber ?? t('common.none')}</Field>
            <Field label={t('field.chargeId')}>
              <code>{c.chargeId}</code>
            </Field>
            <Field label={t('field.articleId')}>{c.articleId}</Field>
            <Field label={t('field.quantity')}>
              {number(c.quantity)} {c.unit}
            </Field>
            <Field label={t('field.productionDate')}>{date(c.productionDate)}</Field>
            <Field label={t('field.expiryDate')}>{c.expiryDate ? date(c.expiryDate) : t('common.none')}</Field>
            <Field label={t('field.status')}>
              <span className={`status status-${c.status}`}>{t(`status.${c.status}`)}</span>
            </Field>
            <Field label={t('field.notes')}>{c.notes || t('common.none')}</Field>
            <Field label={t('field.version')}>{c.version}</Field>
            <Field label={t('field.createdAt')}>
              {dateTime(c.createdAt)} ({c.createdBy.username})
            </Field>
            <Field label={t('field.updatedAt')}>
              {dateTime(c.updatedAt)} ({c.updatedBy.username})
            </Field>
          </dl>
        </section>
        <section aria-labelledby="actions-heading" className="section actions">
          <h2 id="actions-heading">{t('detail.actions')}</h2>
          {permissions.includes('charges:write') && (
            <Button onPress={() => setDialog({ kind: 'edit' })}>{t('detail.edit')}</Button>
          )}
          {actions.map((to) => (
            <Button key={to} onPress={() => setDialog({ kind: 'status', to })} className={QA_MEANING[to] ? 'qa' : ''}>
              {t(`action.${to as Exclude<ChargeStatus, 'in_production'>}`)}
            </Button>
          ))}
          {permissions.includes('reports:read') && (
            <Button
              onPress={() => {
                setDownloadError(undefined);
                downloadFile(
                  `/charges/${encodeURIComponent(c.chargeId)}/report.pdf?lang=${lang}`,
                  `Chargenbericht-${lot}.pdf`,
                ).catch(setDownloadError);
              }}
            >
              {t('detail.report')}
            </Button>
          )}
          <ErrorMessage error={downloadError} />
        </section>
      </div>
      <History key={c.version} chargeId={c.chargeId} current={c.version} />
      <ModalDialog isOpen={dialog !== undefined} onClose={() => setDialog(undefined)}>
        {dialog?.kind === 'edit' && <EditForm charge={c} onClose={() => setDialog(undefined)} />}
        {dialog?.kind === 'status' && <StatusForm charge={c} to={dialog.to} onClose={() => setDialog(undefined)} />}
      </ModalDialog>
    </>
  );
}

function EditForm({ charge, onClose }: { charge: Charge; onClose: () => void }) {
  const { t } = useI18n();
  const [form, setForm] = useState({
    articleId: charge.articleId,
    quantity: String(charge.quantity),
    unit: charge.unit,
    productionDate: charge.productionDate,
    expiryDate: charge.expiryDate ?? '',
    notes: charge.notes ?? '',
    reason: '',
  });
  const [nothing, setNothing] = useState(false);
  const patch = usePatchCharge(charge, onClose);
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });

  function submit() {
    // Only what changed goes to the server: the history then lists exactly the fields the user touched.
    const body: ChargePatch = { reason: form.reason };
    const quantity = Number(form.quantity.replace(',', '.'));
    if (form.articleId !== charge.articleId) body.articleId = form.articleId;
    if (quantity !== charge.quantity) body.quantity = quantity;
    if (form.unit !== charge.unit) body.unit = form.unit;
    if (form.productionDate !== charge.productionDate) body.productionDate = form.productionDate;
    if (form.expiryDate !== (charge.expiryDate ?? '')) body.expiryDate = form.expiryDate || null;
    if (form.notes !== (charge.notes ?? '')) body.notes = form.notes || null;
    setNothing(Object.keys(body).length === 1);
    if (Object.keys(body).length > 1) patch.mutate(body);
  }

  return (
    <DialogForm
      title={t('edit.heading')}
      onSubmit={submit}
      onClose={onClose}
      submit={t('common.save')}
      isDisabled={patch.isPending}
      error={patch.error}
    >
      <TextInput
        label={t('field.articleId')}
        name="articleId"
        value={form.articleId}
        onChange={set('articleId')}
        isRequired
        autoFocus
      />
      <ChargeFields form={form} onChange={setForm} />
      <TextAreaInput
        label={t('field.reason')}
        name="reason"
        value={form.reason}
        onChange={set('reason')}
        isRequired
        minLength={3}
        maxLength={500}
        description={t('edit.reasonHint')}
      />
      {nothing && (
        <p role="alert" className="error">
          {t('edit.nothingChanged')}
        </p>
      )}
    </DialogForm>
  );
}

/**
 * A status change. A QA decision is an electronic signature: the meaning is named, and the signer proves who
 * they are again in the same request — password (and TOTP when enrolled), or a fresh SSO sign-in's ticket.
 */
function StatusForm({ charge, to, onClose }: { charge: Charge; to: ChargeStatus; onClose: () => void }) {
  const { t } = useI18n();
  const me = useMe();
  const meaning = QA_MEANING[to];
  const sso = me.data?.source.startsWith('oidc:') ?? false;
  const [reason, setReason] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [ticket, setTicket] = useState<string>();
  const [ticketError, setTicketError] = useState<unknown>();
  const patch = usePatchCharge(charge, onClose);

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const signature: SignatureInput | undefined = meaning
      ? { meaning, ...(sso ? { ticket } : { password, ...(totp ? { totp } : {}) }) }
      : undefined;
    patch.mutate({ status: to, reason, ...(signature ? { signature } : {}) });
  }

  const providers = useQuery({
    queryKey: ['sso-providers'],
    queryFn: async () => (await unwrap(api.GET('/auth/sso/providers'))).items,
    enabled: sso && meaning !== undefined,
  });

  function reauthenticate(provider: string) {
    // The provider's sign-in runs in its own window (forced fresh, purpose=sign); its callback leaves a one-time
    // ticket in a cookie and opens /console/#/signed there, which tells this window; this window collects the ticket.
    const onMessage = (e: MessageEvent) => {
      const data = e.data as { type?: string } | undefined;
      if (e.origin !== location.origin || data?.type !== SIGNED_MESSAGE) return;
      window.removeEventListener('message', onMessage);
      unwrap(api.POST('/auth/sso/ticket')).then((r) => setTicket(r.ticket), setTicketError);
    };
    window.addEventListener('message', onMessage);
    window.open(`/auth/sso/${encodeURIComponent(provider)}?purpose=sign`, 'charge-records-sign', 'popup');
  }

  return (
    <>
      <Heading slot="title">
        {meaning ? t('signature.title') : t('action.dialogTitle', { status: t(`status.${to}`) })}
      </Heading>
      {meaning && <p>{t('signature.intro', { meaning: t(`meaning.${meaning}`) })}</p>}
      <Form onSubmit={submit} className="form">
        {meaning && (
          <dl className="dl">
            <Field label={t('signature.meaning')}>{t(`meaning.${meaning}`)}</Field>
            <Field label={t('field.status')}>
              {t(`status.${charge.status}`)} → {t(`status.${to}`)}
            </Field>
          </dl>
        )}
        <TextAreaInput
          label={t('action.reason')}
          name="reason"
          value={reason}
          onChange={setReason}
          isRequired
          minLength={3}
          maxLength={500}
        />
        {meaning && !sso && (
          <>
            <TextInput
              label={t('signature.password')}
              name="signaturePassword"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={setPassword}
              isRequired
            />
            <TextInput
              label={t('signature.totp')}
              name="signatureTotp"
              autoComplete="one-time-code"
              inputMode="numeric"
              value={totp}
              onChange={setTotp}
            />
          </>
        )}
        {meaning && sso && (
          <div className="actions">
            {providers.data?.map((p) => (
              <Button key={p.id} onPress={() => reauthenticate(p.id)}>
                {t('signature.reauth', { name: p.displayName })}
              </Button>
            ))}
            {ticket && <p role="status">{t('signature.ticketReady')}</p>}
            <ErrorMessage error={ticketError ?? providers.error} />
          </div>
        )}
        <ErrorMessage error={patch.error} />
        <DialogButtons
          onClose={onClose}
          submit={meaning ? t('signature.sign') : t('action.confirm')}
          isDisabled={patch.isPending || (sso && meaning !== undefined && !ticket)}
        />
      </Form>
    </>
  );
}

/** Every version as a timeline (oldest first, paged), and a form to compare any two of them. */
function History({ chargeId, current }: { chargeId: string; current: number }) {
  const { t, dateTime, has } = useI18n();
  const fieldLabel = (field: string) => {
    const key = `field.${field}`;
    return has(key) ? t(key) : field;
  };
  const history = useInfiniteQuery({
    queryKey: ['history', chargeId],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/charges/{id}/history', {
          params: {
            path: { id: chargeId },
            query: { limit: '100', ...(pageParam ? { cursor: pageParam } : {}) } as never,
          },
        }),
      ) as Promise<HistoryPage>,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const [a, setA] = useState(String(Math.max(1, current - 1)));
  const [b, setB] = useState(String(current));
  const versions = history.data?.pages.flatMap((p) => p.versions) ?? [];
  const options = Array.from({ length: current }, (_, i) => ({
    id: String(i + 1),
    label: t('history.version', { n: i + 1 }),
  }));

  return (
    <section aria-labelledby="history-heading" className="section">
      <h2 id="history-heading">{t('history.heading')}</h2>
      <Form
        className="compare-form"
        aria-label={t('compare.heading')}
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/charges/${chargeId}/compare`, { a, b });
        }}
      >
        <SelectInput label={t('compare.left')} name="a" value={a} onChange={setA} options={options} />
        <SelectInput label={t('compare.right')} name="b" value={b} onChange={setB} options={options} />
        <Button type="submit">{t('compare.show')}</Button>
      </Form>
      <ErrorMessage error={history.error} />
      <ol className="timeline" aria-label={t('history.timeline')}>
        {versions.map((v) => (
          <li key={v.version}>
            <h3>
              {t('history.version', { n: v.version })} · {t(`history.action.${v.action}`)}
            </h3>
            <p className="meta">{t('history.by', { actor: v.actor.username, at: dateTime(v.at) })}</p>
            {v.reason && <p>{t('history.reason', { reason: v.reason })}</p>}
            {v.signature && (
              <p className="signature">
                {t('history.signedBy', {
                  name: v.signature.signer.displayName ?? v.signature.signer.username,
                  meaning: t(`meaning.${v.signature.meaning}`),
                  at: dateTime(v.signature.at),
                })}
              </p>
            )}
            <ul className="changes">
              {Object.entries(v.changes).map(([field, change]) => (
                <li key={field}>
                  <span className="field-name">{fieldLabel(field)}</span>: {show(change.from)} → {show(change.to)}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
      {history.hasNextPage && <Button onPress={() => void history.fetchNextPage()}>{t('history.more')}</Button>}
    </section>
  );
}

export function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'object') {
    const o = value as { username?: string };
    return o.username ?? JSON.stringify(value);
  }
  return String(value);
}

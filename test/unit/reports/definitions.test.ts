import { simpleParser } from 'mailparser';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIT_EPOCH } from '#audit/store';
import { NewDefinition, RelativeWindow, resolveBound } from '#reports/model';
import type { ReportDefinition, ReportStore, ReportRun } from '#reports/store';
import { ReportService } from '#reports/service';
import type { AuthenticatedUser } from '#platform/auth-context';
import { SesMailer } from '#reports/delivery/ses-mailer';

const sesMock = mockClient(SESv2Client);
afterEach(() => sesMock.reset());

const NOW = new Date('2026-11-26T03:00:00Z');
const EPOCH_DAY = AUDIT_EPOCH.slice(0, 10);

describe('relative windows', () => {
  it('reach back at most 100 years: longer ones are refused', () => {
    for (const ok of ['P7D', 'P100Y', 'P1200M', 'P5217W', 'P36525D'])
      expect(RelativeWindow.safeParse(ok).success, ok).toBe(true);
    for (const bad of ['P9999Y', 'P101Y', 'P1201M', 'P5218W', 'P36526D', 'P99999D', 'P0001Y0M', 'P7X']) {
      expect(RelativeWindow.safeParse(bad).success, bad).toBe(false);
    }
    const parsed = NewDefinition.safeParse({
      name: 'audit-P9999Y',
      title: 'Audit',
      kind: 'audit',
      format: 'csv',
      filters: { from: 'P9999Y' },
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['filters.from']);
    // The refusal says what the cap is, not just "Invalid input".
    expect(parsed.error?.issues[0]?.message).toMatch(/at most 100 years/);
  });

  it('a from later than to is 422 when both are dates or both are windows (it could only ever give an empty report)', () => {
    const def = (filters: Record<string, string>) =>
      NewDefinition.safeParse({ name: 'w', title: 'W', kind: 'charges', format: 'csv', filters });
    for (const swapped of [
      { from: 'P7D', to: 'P30D' },
      { from: '2026-02-01', to: '2026-01-01' },
    ]) {
      const parsed = def(swapped);
      expect(parsed.success, JSON.stringify(swapped)).toBe(false);
      expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
        ['filters.from', 'from must not be later than to'],
      ]);
    }
    for (const fine of [
      { from: 'P30D', to: 'P7D' },
      { from: '2026-01-01', to: '2026-01-01' },
      { from: '2026-01-01', to: 'P7D' },
    ]) {
      expect(def(fine).success, JSON.stringify(fine)).toBe(true);
    }
    expect(def({ from: 'yesterday' }).error?.issues[0]?.message).toBe('A date (YYYY-MM-DD) or a window like P7D');
  });

  it('resolve to a YYYY-MM-DD date; an audit report starts at the epoch at the earliest', () => {
    expect(resolveBound('P100Y', NOW)).toBe('1926-11-26');
    expect(resolveBound('P7D', NOW)).toBe('2026-11-19');
    expect(resolveBound('P100Y', NOW, EPOCH_DAY)).toBe(EPOCH_DAY);
    expect(resolveBound('2000-01-01', NOW, EPOCH_DAY)).toBe(EPOCH_DAY);
    expect(resolveBound('P7D', NOW, EPOCH_DAY)).toBe('2026-11-19');
    expect(resolveBound(undefined, NOW, EPOCH_DAY)).toBeUndefined();
    // A definition stored before the cap resolves as the cap, not as "-007973-11-26".
    expect(resolveBound('P9999Y', NOW)).toBe('1926-11-26');
  });
});

describe('definition names and titles', () => {
  const base = { name: 'weekly', title: 'Wöchentlich', kind: 'charges', format: 'csv' };
  it.each([
    ['title', 'Wöchentlich\n\nBitte melden Sie sich unter https://evil.example/login an'],
    ['title', 'Wöchentlich\rBcc: x'],
    ['title', 'Tab\tstop'],
    ['title', 'Null\u0000'],
    ['title', 'Line\u2028separator'],
    ['name', 'weekly\nreport'],
    ['name', 'weekly\u007f'],
    ['title', 'lone \ud800 surrogate'],
    ['name', 'weekly\udc00'],
  ])('refuse control characters and ill-formed Unicode: %s %j', (field, value) => {
    const parsed = NewDefinition.safeParse({ ...base, [field]: value });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual([field]);
  });

  it('accept one line of any Unicode text (trimmed)', () => {
    const parsed = NewDefinition.parse({ ...base, title: '  Freigegebene Chargen — Łódź „Woche“ 测试  ' });
    expect(parsed.title).toBe('Freigegebene Chargen — Łódź „Woche“ 测试');
  });
});

describe('report mails', () => {
  const user: AuthenticatedUser = {
    userId: 'u-qm',
    username: 'qm',
    roles: ['quality_manager'],
    permissions: ['reports:read', 'reports:manage', 'audit:read'],
  };

  function definition(kind: 'charges' | 'audit', title: string, lang: 'de' | 'en' = 'de'): ReportDefinition {
    const actor = { userId: 'u-qm', username: 'qm' };
    return {
      definitionId: `d-${kind}`,
      name: `${kind}-report`,
      title,
      kind,
      filters: {},
      columns: null,
      format: 'csv',
      lang,
      schedule: null,
      timezone: 'UTC',
      recipients: ['qa@example.com'],
      version: 1,
      createdAt: NOW.toISOString(),
      createdBy: actor,
      updatedAt: NOW.toISOString(),
      updatedBy: actor,
    };
  }

  /** The domain with SES as its mailer: what a run sends is what SES receives. */
  function service(def: ReportDefinition): ReportService {
    const repo = {
      getDefinition: async () => def,
      putRun: async (_run: ReportRun) => undefined,
      finishRun: async () => undefined,
    } as unknown as ReportStore;
    const mailer = new SesMailer(new SESv2Client({ region: 'eu-central-1' }), 'reports@example.com');
    return new ReportService({
      repo,
      charges: { list: async () => ({ items: [], nextCursor: null }), get: async () => undefined },
      audit: { search: async () => ({ items: [], nextCursor: null }) },
      adapters: () => ({
        kind: 'local',
        objects: { putFile: async (key: string) => ({ key, bytes: 1 }), downloadUrl: async () => 'https://x' },
        mailer,
        scheduler: { upsert: async () => undefined, remove: async () => undefined },
      }),
    });
  }

  /** SES gets the raw message: read back with a mail parser, as a client reads it. */
  const sent = async () => {
    const input = sesMock.commandCalls(SendEmailCommand)[0]?.args[0].input;
    const mail = await simpleParser(Buffer.from(input?.Content?.Raw?.Data as Uint8Array));
    return { subject: mail.subject as string, text: mail.text as string };
  };

  it('one-line the subject (and the title in the text) in the domain, so SES gets it one line too', async () => {
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'm1' });
    // A definition stored before titles refused control characters.
    const run = await service(
      definition('charges', 'Wöchentlich\r\n\r\nBitte melden Sie sich unter https://evil.example/login an\n'),
    ).runDefinition('d-charges', 'manual', user);
    expect(run.status).toBe('succeeded');
    const { subject, text } = await sent();
    expect(subject).not.toMatch(/[\r\n]/);
    expect(subject).toMatch(
      /^Bericht „Wöchentlich Bitte melden Sie sich unter https:\/\/evil\.example\/login an ?“ vom \d{2}\.\d{2}\.\d{4}$/,
    );
    // The body's own line breaks stay; the title inside it is one line.
    expect(text.split('\n').filter((l) => l.includes('evil.example'))).toHaveLength(1);
    expect(text).toContain('Anmeldung mit der Berechtigung reports:read erforderlich');
  });

  it('name both permissions an audit report needs', async () => {
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'm1' });
    await service(definition('audit', 'Audit')).runDefinition('d-audit', 'manual', user);
    expect((await sent()).text).toContain('Anmeldung mit den Berechtigungen reports:read und audit:read erforderlich');
    sesMock.reset();
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'm2' });
    await service(definition('audit', 'Audit', 'en')).runDefinition('d-audit', 'manual', user);
    expect((await sent()).text).toContain('sign-in with the reports:read and audit:read permissions required');
  });
});

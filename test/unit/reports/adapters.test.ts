import { simpleParser } from 'mailparser';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CronError, nextRuns, parseEventBridgeCron, isValidTimeZone } from '#reports/delivery/cron';
import { EventBridgeScheduler } from '#reports/delivery/eventbridge-scheduler';
import { LocalMailer } from '#local/adapters/local-mailer';
import { LocalObjectStore } from '#local/adapters/local-object-store';
import { LocalScheduler } from '#local/adapters/local-scheduler';
import { S3ObjectStore } from '#reports/delivery/s3-object-store';
import { SesMailer } from '#reports/delivery/ses-mailer';

const dir = mkdtempSync(join(tmpdir(), 'report-adapters-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const s3Mock = mockClient(S3Client);
const sesMock = mockClient(SESv2Client);
const schedulerMock = mockClient(SchedulerClient);
afterEach(() => {
  s3Mock.reset();
  sesMock.reset();
  schedulerMock.reset();
});

describe('S3 object store', () => {
  const s3 = new S3Client({
    region: 'eu-central-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  const store = new S3ObjectStore(s3, 'reports-bucket', 'arn:aws:kms:eu-central-1:111122223333:key/abc');

  it('puts the file KMS-encrypted with its length and type', async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    const file = join(dir, 'x.csv');
    writeFileSync(file, 'a,b\r\n');
    const stored = await store.putFile('runs/r1/x.csv', file, 'text/csv; charset=utf-8');
    expect(stored).toEqual({ key: 'runs/r1/x.csv', bytes: 5 });
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    const input = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Bucket: 'reports-bucket',
      Key: 'runs/r1/x.csv',
      ContentLength: 5,
      ContentType: 'text/csv; charset=utf-8',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'arn:aws:kms:eu-central-1:111122223333:key/abc',
      BucketKeyEnabled: true,
    });
  });

  it('pre-signs a short-lived GET with the download name', async () => {
    const url = new URL(await store.downloadUrl('runs/r1/Bericht Größe.xlsx', 'Bericht Größe.xlsx'));
    expect(url.hostname).toBe('reports-bucket.s3.eu-central-1.amazonaws.com');
    expect(url.pathname).toBe('/runs/r1/Bericht%20Gr%C3%B6%C3%9Fe.xlsx');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(url.searchParams.get('response-content-disposition')).toBe(
      `attachment; filename="Bericht Gr__e.xlsx"; filename*=UTF-8''Bericht%20Gr%C3%B6%C3%9Fe.xlsx`,
    );
    // Signing happens locally: no request is sent.
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 0);
  });
});

describe('SES mailer', () => {
  it('sends from the configured sender only, the same raw message the outbox holds (UTF-8 text)', async () => {
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'm1' });
    const mailer = new SesMailer(new SESv2Client({ region: 'eu-central-1' }), 'reports@example.com');
    await mailer.send({ to: ['qa@example.com', 'b@example.com'], subject: 'Bericht „Woche“', text: 'Link: https://x' });
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      FromEmailAddress: 'reports@example.com',
      Destination: { ToAddresses: ['qa@example.com', 'b@example.com'] },
    });
    const raw = sesMock.commandCalls(SendEmailCommand)[0]?.args[0].input.Content?.Raw?.Data as Uint8Array;
    const mail = await simpleParser(Buffer.from(raw));
    expect(mail.subject).toBe('Bericht „Woche“');
    expect(mail.text?.trim()).toBe('Link: https://x');
    expect(mail.from?.text).toBe('reports@example.com');
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
  });
});

describe('EventBridge scheduler', () => {
  const scheduler = new EventBridgeScheduler(new SchedulerClient({ region: 'eu-central-1' }), {
    group: 'charge-records-reports',
    runnerArn: 'arn:aws:lambda:eu-central-1:111122223333:function:runner',
    roleArn: 'arn:aws:iam::111122223333:role/scheduler',
    deadLetterArn: 'arn:aws:sqs:eu-central-1:111122223333:reports-dlq',
  });
  const spec = { name: 'report-d1', cron: '0 6 ? * MON *', timezone: 'Europe/Berlin', event: { definitionId: 'd1' } };
  const expected = {
    Name: 'report-d1',
    GroupName: 'charge-records-reports',
    ScheduleExpression: 'cron(0 6 ? * MON *)',
    ScheduleExpressionTimezone: 'Europe/Berlin',
    FlexibleTimeWindow: { Mode: 'OFF' },
    State: 'ENABLED',
    Description: 'Report definition d1',
    Target: {
      Arn: 'arn:aws:lambda:eu-central-1:111122223333:function:runner',
      RoleArn: 'arn:aws:iam::111122223333:role/scheduler',
      Input: '{"definitionId":"d1"}',
      RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
      DeadLetterConfig: { Arn: 'arn:aws:sqs:eu-central-1:111122223333:reports-dlq' },
    },
  };

  it('creates a schedule with cron, zone, target, role, retries and DLQ', async () => {
    schedulerMock.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn' });
    await scheduler.upsert(spec);
    expect(schedulerMock).toHaveReceivedCommandTimes(CreateScheduleCommand, 1);
    expect(schedulerMock.commandCalls(CreateScheduleCommand)[0]?.args[0].input).toEqual(expected);
    expect(schedulerMock).toHaveReceivedCommandTimes(UpdateScheduleCommand, 0);
  });

  it('updates an existing schedule (create conflicts)', async () => {
    schedulerMock
      .on(CreateScheduleCommand)
      .rejects(new ConflictException({ message: 'exists', Message: 'exists', $metadata: {} }));
    schedulerMock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn' });
    await scheduler.upsert(spec);
    expect(schedulerMock.commandCalls(UpdateScheduleCommand)[0]?.args[0].input).toEqual(expected);
  });

  it('propagates other errors', async () => {
    schedulerMock.on(CreateScheduleCommand).rejects(new Error('throttled'));
    await expect(scheduler.upsert(spec)).rejects.toThrow('throttled');
    expect(schedulerMock).toHaveReceivedCommandTimes(UpdateScheduleCommand, 0);
  });

  it('deletes by name in the group and tolerates a missing schedule', async () => {
    schedulerMock
      .on(DeleteScheduleCommand)
      .rejects(new ResourceNotFoundException({ message: 'gone', Message: 'gone', $metadata: {} }));
    await scheduler.remove('report-d1');
    expect(schedulerMock).toHaveReceivedCommandWith(DeleteScheduleCommand, {
      Name: 'report-d1',
      GroupName: 'charge-records-reports',
    });
  });
});

describe('EventBridge cron expressions', () => {
  it('accepts the Scheduler syntax with or without the wrapper', () => {
    expect(parseEventBridgeCron('cron(0 6 ? * MON *)').expression).toBe('0 6 ? * MON *');
    expect(parseEventBridgeCron('  0  6 ? * MON * ').expression).toBe('0 6 ? * MON *');
    for (const ok of [
      '0/15 * * * ? *',
      '0 8 1 * ? *',
      '0 18 ? * MON-FRI *',
      '0 10 ? * 6L *',
      '0 9 ? * 2#1 *',
      '0 12 L * ? 2026-2030',
      '* * * * ? *',
    ]) {
      expect(() => parseEventBridgeCron(ok), ok).not.toThrow();
    }
  });

  it('rejects what Scheduler would reject', () => {
    for (const bad of [
      '',
      '0 6 * * *',
      '0 6 * * MON *',
      '0 6 ? * ? *',
      '60 6 ? * MON *',
      '0 24 ? * MON *',
      '0 6 32 * ? *',
      '0 6 1 13 ? *',
      '0 6 ? * MON 1969',
      'rm -rf /',
      '0 6 ? * FOO *',
      'cron(0 6 ? * MON *',
    ]) {
      expect(() => parseEventBridgeCron(bad), bad).toThrow(CronError);
    }
  });

  it('counts weekdays as Scheduler does (1 = Sunday) and honours the time zone', () => {
    const from = new Date('2026-11-25T00:00:00Z'); // a Wednesday
    expect(nextRuns('0 6 ? * 2 *', 'Europe/Berlin', 1, from)[0]?.toISOString()).toBe('2026-11-30T05:00:00.000Z');
    expect(nextRuns('0 6 ? * MON *', 'Europe/Berlin', 1, from)[0]?.toISOString()).toBe('2026-11-30T05:00:00.000Z');
    expect(nextRuns('0 6 ? * 1 *', 'UTC', 1, from)[0]?.toISOString()).toBe('2026-11-29T06:00:00.000Z');
    // Summer time: 06:00 in Berlin is 04:00 UTC.
    expect(nextRuns('0 6 ? * MON *', 'Europe/Berlin', 1, new Date('2026-06-01T00:00:00Z'))[0]?.toISOString()).toBe(
      '2026-06-01T04:00:00.000Z',
    );
  });

  it('knows IANA zones', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isValidTimeZone('CET; drop table')).toBe(false);
  });
});

describe('local mailer', () => {
  it('writes one RFC 5322 message per mail into the outbox', async () => {
    const mailer = new LocalMailer(dir, 'reports@charge-records.local');
    await mailer.send({
      to: ['qa@example.com'],
      subject: 'Bericht „Wöchentlich“\r\nBcc: evil@x',
      text: 'Hallo\nhttp://127.0.0.1:3000/reports/runs/r1/download',
    });
    const files = readdirSync(mailer.outbox).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(1);
    const eml = readFileSync(join(mailer.outbox, files[0] as string), 'utf8');
    const [head, body] = eml.split('\r\n\r\n') as [string, string];
    const headers = head.split('\r\n');
    expect(headers).toContain('From: reports@charge-records.local');
    expect(headers).toContain('To: qa@example.com');
    expect(headers).toContain('MIME-Version: 1.0');
    expect(headers).toContain('Content-Type: text/plain; charset=UTF-8');
    expect(headers.some((h) => /^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/.test(h))).toBe(true);
    expect(headers.some((h) => /^Message-ID: <[^>]+@charge-records\.local>$/.test(h))).toBe(true);
    // The subject is one encoded header: the injected "Bcc:" never becomes a header of its own.
    expect(headers.some((h) => h.startsWith('Bcc'))).toBe(false);
    const subject = headers.find((h) => h.startsWith('Subject: ')) as string;
    const encoded = /=\?UTF-8\?B\?(.+)\?=/.exec(subject)?.[1] as string;
    expect(Buffer.from(encoded, 'base64').toString('utf8')).toBe('Bericht „Wöchentlich“ Bcc: evil@x');
    expect(body).toContain('http://127.0.0.1:3000/reports/runs/r1/download');
  });
});

describe('local object store links', () => {
  const store = new LocalObjectStore(join(dir, 'state'), () => 'http://127.0.0.1:9999');

  it('signs links that resolve to the stored file, and refuses tampered or expired ones', async () => {
    const src = join(dir, 'r.csv');
    writeFileSync(src, 'x');
    await store.putFile('runs/r1/r.csv', src, 'text/csv; charset=utf-8');
    const url = new URL(await store.downloadUrl('runs/r1/r.csv', 'r.csv'));
    expect(url.origin).toBe('http://127.0.0.1:9999');
    expect(await store.resolveLink(url)).toEqual({
      path: store.pathOf('runs/r1/r.csv'),
      filename: 'r.csv',
      contentType: 'text/csv; charset=utf-8',
    });
    // The metadata next to the file is not an object of its own: a link to it is refused.
    const meta = new URL(await store.downloadUrl('runs/r1/r.csv.meta.json', 'm.json'));
    expect(await store.resolveLink(meta)).toBeUndefined();

    const otherKey = new URL(url);
    otherKey.pathname = url.pathname.replace('r1', 'r2');
    expect(await store.resolveLink(otherKey)).toBeUndefined();
    const longer = new URL(url);
    longer.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    expect(await store.resolveLink(longer)).toBeUndefined();
    const expired = new URL(await store.downloadUrl('runs/r1/r.csv', 'r.csv', -1));
    expect(await store.resolveLink(expired)).toBeUndefined();
  });

  it('keeps keys inside its folder', () => {
    expect(() => store.pathOf('../../etc/passwd')).toThrow();
  });
});

describe('local scheduler', () => {
  it('keeps schedules paused until started, fires the target with the event, forgets removed ones', async () => {
    const scheduler = new LocalScheduler();
    const fired: unknown[] = [];
    await scheduler.upsert({
      name: 'report-a',
      cron: '0 6 ? * MON *',
      timezone: 'Europe/Berlin',
      event: { definitionId: 'a' },
    });
    await scheduler.fire('report-a');
    expect(fired).toEqual([]);
    scheduler.start(async (event) => void fired.push(event));
    expect(scheduler.get('report-a')?.nextRun?.getUTCDay()).toBe(1);
    await scheduler.fire('report-a');
    expect(fired).toEqual([{ definitionId: 'a' }]);
    await scheduler.upsert({ name: 'report-a', cron: '0 7 ? * TUE *', timezone: 'UTC', event: { definitionId: 'a' } });
    expect(scheduler.get('report-a')?.cron).toBe('0 7 ? * TUE *');
    expect(scheduler.names()).toEqual(['report-a']);
    await scheduler.remove('report-a');
    expect(scheduler.get('report-a')).toBeUndefined();
    await scheduler.fire('report-a');
    expect(fired).toHaveLength(1);
    scheduler.stop();
  });
});

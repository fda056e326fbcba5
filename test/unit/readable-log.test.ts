import { describe, expect, it } from 'vitest';
import { readableLine, readableLogOnTerminal } from '#local/readable-log';

const info = JSON.stringify({
  level: 'INFO',
  message: 'finishSecret: AWSCURRENT moved',
  timestamp: '2026-12-07T08:46:27.309Z',
  service: 'charge-records',
  cold_start: false,
  function_arn: 'arn:aws:lambda:local:000000000000:function:local-rotate-keys',
  function_memory_size: '256',
  function_name: 'local-rotate-keys',
  function_request_id: 'b8c72f43-3299-4480-83ef-009a1764dda7',
  sampling_rate: 0,
  rotation_id: '81caf156',
  kid: 'cGpj',
  actor: 'the system',
});
const error = JSON.stringify({
  level: 'ERROR',
  message: 'An unexpected error occurred',
  timestamp: '2026-12-07T08:46:28.001Z',
  http_method: 'GET',
  path: '/charges',
  error: { name: 'Error', message: 'boom', stack: 'Error: boom\n    at run (x.ts:1:1)' },
});
const metric = JSON.stringify({
  _aws: {
    Timestamp: 1,
    CloudWatchMetrics: [{ Namespace: 'N', Metrics: [{ Name: 'AuditLag', Unit: 'Milliseconds' }] }],
  },
  service: 'charge-records',
  AuditLag: 873,
});

describe('readableLine', () => {
  it('time, level, message, then the keys that say something', () => {
    expect(readableLine(info)).toBe(
      '08:46:27.309 INFO  finishSecret: AWSCURRENT moved  function_name=rotate-keys rotation_id=81caf156 kid=cGpj actor="the system"',
    );
  });

  it('an error with its stack below', () => {
    expect(readableLine(error)).toBe(
      '08:46:28.001 ERROR An unexpected error occurred  http_method=GET path=/charges\n    Error: boom\n        at run (x.ts:1:1)',
    );
  });

  it('a metrics line as names and values', () => {
    expect(readableLine(metric)).toBe('METRIC AuditLag=873');
  });

  it('text that is not a JSON log line stays as it is', () => {
    for (const line of ['GET /charges 200 1.2 ms abc', '{not json', '']) expect(readableLine(line)).toBe(line);
  });

  it('control characters in a logged value cannot drive the terminal', () => {
    const line = readableLine(
      JSON.stringify({ level: 'INFO', message: 'a\u001b[2Jb\r\nc', user: 'x\u001b]0;t\u0007' }),
    );
    // eslint-disable-next-line no-control-regex -- a control character in the line is what must not happen
    expect(line).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(line).toContain('a\\u001b[2Jb\\u000d\\u000ac');
  });
});

describe('readableLogOnTerminal', () => {
  const stream = (isTTY: boolean) => {
    const written: unknown[] = [];
    const fake = { isTTY, write: (chunk: unknown) => written.push(chunk) > 0, hasColors: () => false };
    return { fake: fake as unknown as NodeJS.WriteStream, written };
  };

  it('a terminal gets text', () => {
    const { fake, written } = stream(true);
    expect(readableLogOnTerminal(fake)).toBe(true);
    fake.write(`${info}\n`);
    fake.write('plain line\n');
    expect(written).toEqual([`${readableLine(info)}\n`, 'plain line\n']);
  });

  it('a pipe or a file keeps the JSON, byte for byte', () => {
    const { fake, written } = stream(false);
    expect(readableLogOnTerminal(fake)).toBe(false);
    fake.write(`${info}\n`);
    expect(written).toEqual([`${info}\n`]);
  });
});

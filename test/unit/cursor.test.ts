import { describe, expect, it } from 'vitest';
import { AppError } from '#platform/errors';
import { decodeCursor, encodeCursor, inRange, isKey, MAX_CURSOR_LENGTH, queryFromCursor } from '#platform/cursor';

const anyPosition = (value: unknown): value is unknown => value !== undefined;
const query = { list: 'charges', filters: { status: 'quarantine', articleId: undefined, from: '2026-01-01' } };

async function expectBadCursor(action: () => unknown) {
  let error: unknown;
  try {
    await action();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(AppError);
  expect(error).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
}

describe('cursors are bound to their query', () => {
  it('round-trip for the same query, whatever the order of its filters', () => {
    const cursor = encodeCursor(query, { k: 1 });
    const reordered = { list: 'charges', filters: { from: '2026-01-01', status: 'quarantine' } };
    expect(decodeCursor(cursor, reordered, anyPosition)).toEqual({ k: 1 });
  });

  it.each([
    ['another filter value', { list: 'charges', filters: { status: 'released', from: '2026-01-01' } }],
    ['a filter more', { list: 'charges', filters: { status: 'quarantine', from: '2026-01-01', to: '2026-02-01' } }],
    ['a filter less', { list: 'charges', filters: { status: 'quarantine' } }],
    ['another list', { list: 'audit', filters: { status: 'quarantine', from: '2026-01-01' } }],
  ])('are refused (400) by %s', async (_name, other) => {
    await expectBadCursor(() => decodeCursor(encodeCursor(query, { k: 1 }), other, anyPosition));
  });

  it.each([
    ['garbage', 'not-a-cursor!'],
    ['JSON that is not an object', Buffer.from('[1,2]').toString('base64url')],
    [
      'a cursor of the old format',
      Buffer.from(JSON.stringify({ i: 'byStatus', k: { status: 'quarantine' } })).toString('base64url'),
    ],
    ['a forged digest', Buffer.from(JSON.stringify({ q: 'AAAAAAAAAAAAAAAA', p: { k: 1 } })).toString('base64url')],
  ])('are refused (400) when they are %s', async (_name, raw) => {
    await expectBadCursor(() => decodeCursor(raw, query, anyPosition));
  });

  it('are refused (400) when longer than MAX_CURSOR_LENGTH, even with the right digest', async () => {
    const long = { k: 'x'.repeat(MAX_CURSOR_LENGTH) };
    await expectBadCursor(() => decodeCursor(encodeCursor(query, long), query, anyPosition));
    const fits = { k: 'x'.repeat(1000) };
    expect(decodeCursor(encodeCursor(query, fits), query, anyPosition)).toEqual(fits);
  });

  it('are refused (400) when the position fails the check, even with the right digest', async () => {
    const never = (value: unknown): value is never => value === Symbol.for('never');
    await expectBadCursor(() => decodeCursor(encodeCursor(query, { k: 1 }), query, never));
  });
});

describe('key checks', () => {
  it('isKey wants exactly the named attributes, strings or non-negative integers', () => {
    expect(isKey({ pk: 'a', seq: 3 }, ['pk', 'seq'], ['seq'])).toBe(true);
    expect(isKey({ pk: 'a' }, ['pk', 'seq'], ['seq'])).toBe(false);
    expect(isKey({ pk: 'a', seq: 3, extra: 'x' }, ['pk', 'seq'], ['seq'])).toBe(false);
    expect(isKey({ pk: 'a', seq: '3' }, ['pk', 'seq'], ['seq'])).toBe(false);
    expect(isKey({ pk: 'a', seq: -1 }, ['pk', 'seq'], ['seq'])).toBe(false);
    expect(isKey({ pk: { S: 'a' } }, ['pk'])).toBe(false);
    expect(isKey({ pk: '' }, ['pk'])).toBe(false);
    expect(isKey(['a'], ['0'])).toBe(false);
  });

  it('inRange checks a sort key against open or closed bounds', () => {
    expect(inRange('2026-01-05#x', '2026-01-01', '2026-01-31~')).toBe(true);
    expect(inRange('2025-12-31#x', '2026-01-01', undefined)).toBe(false);
    expect(inRange('2026-02-01#x', undefined, '2026-01-31~')).toBe(false);
    expect(inRange(5, undefined, undefined)).toBe(false);
  });
});

describe('queryFromCursor: DynamoDB refusing a start key is the client’s 400', () => {
  const refused = () =>
    Promise.reject(Object.assign(new Error('The provided starting key is invalid'), { name: 'ValidationException' }));

  it('maps ValidationException to 400 BAD_REQUEST when the query started at a cursor', async () => {
    await expectBadCursor(() => queryFromCursor(true, refused));
  });

  it('leaves it alone (a 500: our bug) when there was no cursor', async () => {
    await expect(queryFromCursor(false, refused)).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('leaves other errors alone', async () => {
    const down = () => Promise.reject(Object.assign(new Error('down'), { code: 'ECONNREFUSED' }));
    await expect(queryFromCursor(true, down)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(queryFromCursor(true, async () => 'page')).resolves.toBe('page');
  });
});

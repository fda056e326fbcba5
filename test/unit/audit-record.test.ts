import { describe, expect, it } from 'vitest';
import { canonicalJson } from '#audit/canonical-json';
import { diffFields } from '#audit/diff';
import { type AuditRecord, computeHash, GENESIS_HASH, toAuditItem, verifyChain } from '#audit/record';
import { isSecretField, redact, REDACTED } from '#audit/redact';

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined, so key order never changes a hash', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, u: undefined })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });

  it('escapes strings as JSON does and keeps Unicode', () => {
    expect(canonicalJson({ s: 'Łódź "q"\n' })).toBe('{"s":"Łódź \\"q\\"\\n"}');
  });

  it('refuses values JSON cannot carry exactly', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
    expect(() => canonicalJson({ d: new Date() })).toThrow();
    expect(() => canonicalJson({ s: new Set([1]) })).toThrow();
  });
});

function chain(length: number): AuditRecord[] {
  const records: AuditRecord[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= length; seq++) {
    const unsigned = {
      auditId: `a${seq}`,
      entityType: 'charge',
      entityId: 'c1',
      seq,
      action: seq === 1 ? 'create' : 'update',
      actor: { userId: 'u1', username: 'olga' },
      at: `2026-01-0${seq}T00:00:00.000Z`,
      requestId: `r${seq}`,
      reason: seq === 1 ? null : `reason ${seq}`,
      version: seq,
      changes: { quantity: { from: seq - 1, to: seq } },
      prevHash,
    };
    const record = { ...unsigned, hash: computeHash(unsigned) };
    records.push(record);
    prevHash = record.hash;
  }
  return records;
}

describe('hash chain', () => {
  it('hash = SHA-256(prevHash + canonical JSON of the record)', async () => {
    const { createHash } = await import('node:crypto');
    const [first] = chain(1);
    const { hash: _h, prevHash: _p, ...content } = first!;
    expect(first!.hash).toBe(
      createHash('sha256')
        .update(GENESIS_HASH + canonicalJson(content))
        .digest('hex'),
    );
  });

  it('an intact chain verifies', () => {
    expect(verifyChain(chain(5))).toEqual({ valid: true, records: 5 });
  });

  it.each([
    ['a changed reason', (r: AuditRecord[]) => (r[2]!.reason = 'nicer reason'), 3, 'hash_mismatch'],
    ['a changed value', (r: AuditRecord[]) => (r[1]!.changes.quantity!.to = 99), 2, 'hash_mismatch'],
    ['a changed actor', (r: AuditRecord[]) => (r[3]!.actor.username = 'mallory'), 4, 'hash_mismatch'],
    ['a removed record', (r: AuditRecord[]) => r.splice(2, 1), 4, 'sequence_gap'],
    [
      'a record re-hashed after editing',
      (r: AuditRecord[]) => {
        r[1]!.reason = 'rewritten';
        r[1]!.hash = computeHash(r[1]!);
      },
      3,
      'prev_hash_mismatch',
    ],
  ])('%s is caught at the first broken record', (_name, tamper, seq, problem) => {
    const records = chain(5);
    tamper(records);
    const result = verifyChain(records);
    expect(result.valid).toBe(false);
    expect(result.brokenAt).toMatchObject({ seq, problem });
  });
});

describe('stored items: the unhashed index attributes', () => {
  it('an intact chain of stored items verifies', () => {
    expect(verifyChain(chain(3).map(toAuditItem))).toEqual({ valid: true, records: 3 });
  });

  it.each([
    ['actorId', 'nobody'],
    ['month', '1999-01'],
    ['atId', '1999-01-01T00:00:00.000Z#a2'],
    ['entityKey', 'charge#other'],
  ] as const)(
    'an item whose %s no longer matches its record (hidden from actor/time views) is caught',
    (field, value) => {
      const items = chain(3).map(toAuditItem);
      items[1]![field] = value;
      expect(verifyChain(items)).toMatchObject({ valid: false, brokenAt: { seq: 2, problem: 'derived_mismatch' } });
    },
  );
});

describe('redaction and diffs', () => {
  it('secret fields are recognised by name', () => {
    for (const f of [
      'passwordHash',
      'refreshTokenHash',
      'tokensValidAfter',
      'password',
      'clientSecret',
      'resetToken',
    ]) {
      expect(isSecretField(f), f).toBe(true);
    }
    for (const f of ['username', 'roles', 'disabled', 'email', 'passwordChangedAt'])
      expect(isSecretField(f), f).toBe(false);
  });

  it('redact replaces secrets at any depth', () => {
    expect(redact({ a: 1, passwordHash: 'x', nested: [{ refreshTokenHash: 'y', ok: true }] })).toEqual({
      a: 1,
      passwordHash: REDACTED,
      nested: [{ refreshTokenHash: REDACTED, ok: true }],
    });
  });

  it('diffFields lists changed top-level fields; a create lists initial values from null', () => {
    expect(
      diffFields({ a: 1, b: { x: 1, y: 2 }, c: 'same' }, { a: 2, b: { y: 2, x: 1 }, c: 'same', d: 'new' }),
    ).toEqual({
      a: { from: 1, to: 2 },
      d: { from: null, to: 'new' },
    });
    expect(diffFields(undefined, { a: 1, skip: 2 }, new Set(['skip']))).toEqual({ a: { from: null, to: 1 } });
    expect(diffFields({ roles: new Set(['b', 'a']) }, { roles: ['a', 'b'] })).toEqual({});
  });
});

import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import { toJsonValue } from './canonical-json';
import type { AuditActor } from './record';

/**
 * The key that vouches for "this change was made through the API, by this actor, for this reason": a MAC only
 * the writing functions can make and only the audit stream function can check (AWS: a KMS HMAC key; locally an
 * HMAC key file). Someone who can write the tables but not use this key cannot forge who changed an item.
 */
export interface AttributionKey {
  mac(message: Uint8Array): Promise<Uint8Array>;
  verify(message: Uint8Array, mac: Uint8Array): Promise<boolean>;
}

/** Who changed an item, why, in which request and when: stamped by the writing function, covered by the MAC. */
export interface LastChange {
  actor: AuditActor;
  reason: string | null;
  requestId: string;
  correlationId?: string;
  at: string;
}

/** The item attribute that holds the MAC (base64); everything else the entity does not exclude is covered. */
export const MAC_ATTRIBUTE = 'lastChangeMac';

/**
 * What is MAC'd: the entity's type and id (an item copied to another key does not verify) and the item's
 * attributes without the MAC and without `unsigned` (storage keys derived from the content). SHA-256 of it,
 * because KMS GenerateMac takes at most 4 KiB and an item can be larger.
 */
export function attributionMessage(
  entityType: string,
  entityId: string,
  item: Record<string, unknown>,
  unsigned: ReadonlySet<string>,
): Uint8Array {
  const content: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(item)) {
    if (field !== MAC_ATTRIBUTE && !unsigned.has(field) && value !== undefined) content[field] = value;
  }
  return createHash('sha256')
    .update(canonicalJson({ entityType, entityId, item: toJsonValue(content) ?? null }), 'utf8')
    .digest();
}

/** The item with its MAC (the item must already carry its `lastChange`). */
export async function stampItem<T extends Record<string, unknown>>(
  key: AttributionKey,
  entityType: string,
  entityId: string,
  item: T,
  unsigned: ReadonlySet<string>,
): Promise<T & { [MAC_ATTRIBUTE]: string }> {
  const mac = await key.mac(attributionMessage(entityType, entityId, item, unsigned));
  return { ...item, [MAC_ATTRIBUTE]: Buffer.from(mac).toString('base64') };
}

/** The item's `lastChange` if its MAC is the attribution key's over exactly this item; else undefined. */
export async function verifiedLastChange(
  key: AttributionKey,
  entityType: string,
  entityId: string,
  item: Record<string, unknown>,
  unsigned: ReadonlySet<string>,
): Promise<LastChange | undefined> {
  const mac = item[MAC_ATTRIBUTE];
  const stamp = item.lastChange as Partial<LastChange> | undefined;
  if (typeof mac !== 'string' || mac === '' || !isLastChange(stamp)) return undefined;
  const valid = await key.verify(
    attributionMessage(entityType, entityId, item, unsigned),
    new Uint8Array(Buffer.from(mac, 'base64')),
  );
  return valid ? stamp : undefined;
}

function isLastChange(value: Partial<LastChange> | undefined): value is LastChange {
  return (
    !!value &&
    typeof value === 'object' &&
    typeof value.actor?.userId === 'string' &&
    typeof value.actor.username === 'string' &&
    typeof value.requestId === 'string' &&
    typeof value.at === 'string' &&
    (value.reason === null || typeof value.reason === 'string')
  );
}

/** A stamp for a change made now by `actor` in the request `meta`. */
export function lastChangeOf(
  actor: AuditActor,
  reason: string | null | undefined,
  meta: { requestId?: string; correlationId?: string },
  at: string,
): LastChange {
  return {
    actor: { userId: actor.userId, username: actor.username },
    reason: reason ?? null,
    requestId: meta.requestId ?? 'none',
    ...(meta.correlationId !== undefined ? { correlationId: meta.correlationId } : {}),
    at,
  };
}

import { randomBytes } from 'node:crypto';
import { argon2id, argon2Verify } from 'hash-wasm';
import { COMMON_PASSWORDS } from './common-passwords';

/**
 * Argon2id with OWASP's first recommended parameter set (m = 19 MiB, t = 2, p = 1): memory-hard and
 * ≈ 60–90 ms here (docs/benchmarks.md), deliberately slow for an attacker and fast enough for a login.
 * hash-wasm is WebAssembly: no native build, the same code on Node 20 and Lambda's Node 24.
 */
export const ARGON2_PARAMS = { memorySize: 19_456, iterations: 2, parallelism: 1, hashLength: 32 } as const;

export async function hashPassword(password: string): Promise<string> {
  return argon2id({ password, salt: randomBytes(16), ...ARGON2_PARAMS, outputType: 'encoded' });
}

export async function verifyPassword(password: string, encodedHash: string): Promise<boolean> {
  try {
    return await argon2Verify({ password, hash: encodedHash });
  } catch {
    return false;
  }
}

/**
 * A real hash of a random password, made once per process: unknown usernames are checked against it so a
 * wrong username costs the same time as a wrong password (no user enumeration by timing).
 */
let dummyHash: Promise<string> | undefined;
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(32).toString('hex'));
  await verifyPassword(password, await dummyHash);
  return false;
}

export const PASSWORD_MIN_LENGTH = 12;
/** ASVS 5 §6.2: "up to at least 128" must be accepted; beyond 256 is refused to bound hashing work. */
export const PASSWORD_MAX_LENGTH = 256;

/**
 * The common-password list: zxcvbn-ts' frequency-ranked list of the ≈ 49 000 most common passwords (more than the
 * 10 000 the policy asks for). Only entries long enough to pass the length rule can matter, so only those are
 * bundled: ./common-passwords.ts, generated from the package by scripts/generate-common-passwords.ts (≈ 300 entries,
 * 4 KB, where the package's whole dictionary put 400 KB into the auth and users bundles).
 */
let common: ReadonlySet<string> | undefined;

/** The set is made on first use: a bundle that only verifies passwords (the signature check) then drops the list. */
export function isCommonPassword(password: string): boolean {
  common ??= new Set(COMMON_PASSWORDS);
  return common.has(password.toLowerCase());
}

/** Password policy (ASVS 5 §6.2): length only, no composition rules; not the username; not a common password. */
export function passwordPolicyViolations(password: string, username: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) problems.push(`must be at least ${PASSWORD_MIN_LENGTH} characters`);
  if (length > PASSWORD_MAX_LENGTH) problems.push(`must be at most ${PASSWORD_MAX_LENGTH} characters`);
  if (password.toLowerCase() === username.toLowerCase()) problems.push('must not be the username');
  if (isCommonPassword(password)) problems.push('is too common');
  return problems;
}

/**
 * Whether `password` is the user's current password or one of the previous ones kept in `passwordHistory`: a new
 * password must be neither (PASSWORD_HISTORY). Each is an Argon2id check, so this costs one per remembered hash.
 */
export async function isRecentPassword(
  password: string,
  user: { passwordHash?: string; passwordHistory?: string[] },
): Promise<boolean> {
  for (const hash of [user.passwordHash, ...(user.passwordHistory ?? [])]) {
    if (hash && (await verifyPassword(password, hash))) return true;
  }
  return false;
}

/**
 * The history after the current password is replaced: the current hash goes in front, and only as many are kept as,
 * with the new current one, make `remembered` passwords in all. A temporary password (an administrator's reset) was
 * never the user's own and is not remembered.
 */
export function nextPasswordHistory(
  user: { passwordHash?: string; passwordHistory?: string[]; passwordChangeRequired?: boolean },
  remembered: number,
): string[] {
  const previous = user.passwordHash && !user.passwordChangeRequired ? [user.passwordHash] : [];
  return [...previous, ...(user.passwordHistory ?? [])].slice(0, Math.max(0, remembered - 1));
}

/** A random temporary password for an administrator's reset: 20 characters of 57, ≈ 117 bits, typed off a note. */
export function newTemporaryPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const chars = [...randomBytes(40)].filter((b) => b < 228).slice(0, 20); // 228 = 4 × 57: no modulo bias
  return chars.map((b) => alphabet[b % alphabet.length]).join('');
}

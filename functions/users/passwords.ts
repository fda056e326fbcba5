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
const COMMON: ReadonlySet<string> = new Set(COMMON_PASSWORDS);

export function isCommonPassword(password: string): boolean {
  return COMMON.has(password.toLowerCase());
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

import { chmodSync, mkdirSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';

/**
 * The local runtime's state (report files, mail, the audit stream's failures and checkpoints, keys) is readable by
 * its owner only: files 0600 in folders 0700. Modes are set explicitly, not left to the umask, and a folder made
 * wider by an older version is narrowed.
 */
export const PRIVATE_FILE = 0o600;
export const PRIVATE_DIR = 0o700;

/** Makes the folder (and any missing parent, all 0700) and narrows it to 0700. */
export function privateDirSync(path: string): string {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR });
  chmodSync(path, PRIVATE_DIR);
  return path;
}

export async function privateDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true, mode: PRIVATE_DIR });
  await chmod(path, PRIVATE_DIR);
  return path;
}

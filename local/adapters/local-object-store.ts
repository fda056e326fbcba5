import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { DOWNLOAD_LINK_SECONDS, type ObjectStore, type StoredObject } from '#reports/delivery/ports';
import { PRIVATE_DIR, PRIVATE_FILE, privateDir } from '#local/private-files';

/** The local stand-in for S3's pre-signed URLs: served by the local server (local/server.ts). */
export const LOCAL_FILES_PATH = '/_local/report-files/';
const META_SUFFIX = '.meta.json';

/**
 * Report files under `<stateDir>/reports/`. Download links imitate pre-signed URLs: key, expiry and an
 * HMAC over both with a secret kept in the same folder, served by the local server outside the API's
 * routes — as S3 is outside API Gateway.
 */
export class LocalObjectStore implements ObjectStore {
  readonly root: string;

  constructor(
    stateDir: string,
    private readonly baseUrl: () => string,
  ) {
    this.root = resolve(stateDir, 'reports');
  }

  pathOf(key: string): string {
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new Error('Object key escapes the report folder');
    return path;
  }

  async putFile(key: string, path: string, contentType: string): Promise<StoredObject> {
    const target = this.pathOf(key);
    await privateDir(this.root);
    await mkdir(dirname(target), { recursive: true, mode: PRIVATE_DIR });
    // copyFile takes the source's mode; the folder is 0700 already, so the file is never readable by others.
    await copyFile(path, target);
    await chmod(target, PRIVATE_FILE);
    // S3 keeps the object's Content-Type and serves it back; so does this stand-in, next to the file.
    await writeFile(`${target}${META_SUFFIX}`, JSON.stringify({ contentType }), { mode: PRIVATE_FILE });
    const { size } = await stat(target);
    return { key, bytes: size };
  }

  async downloadUrl(key: string, filename: string, expiresInSeconds = DOWNLOAD_LINK_SECONDS): Promise<string> {
    this.pathOf(key);
    const expires = Math.floor(Date.now() / 1000) + expiresInSeconds;
    const signature = await this.sign(key, expires, filename);
    const query = new URLSearchParams({ expires: String(expires), filename, signature });
    return `${this.baseUrl()}${LOCAL_FILES_PATH}${key.split('/').map(encodeURIComponent).join('/')}?${query}`;
  }

  /** Checks a link made by `downloadUrl`: the file path, or undefined when the link is forged or expired. */
  async resolveLink(url: URL): Promise<{ path: string; filename: string; contentType: string } | undefined> {
    if (!url.pathname.startsWith(LOCAL_FILES_PATH)) return undefined;
    let key: string;
    try {
      key = url.pathname.slice(LOCAL_FILES_PATH.length).split('/').map(decodeURIComponent).join('/');
    } catch {
      return undefined;
    }
    const expires = Number(url.searchParams.get('expires'));
    const filename = url.searchParams.get('filename') ?? '';
    const signature = Buffer.from(url.searchParams.get('signature') ?? '', 'utf8');
    if (!Number.isInteger(expires) || expires < Date.now() / 1000) return undefined;
    const expected = Buffer.from(await this.sign(key, expires, filename), 'utf8');
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return undefined;
    let path: string;
    try {
      path = this.pathOf(key);
      await stat(path);
    } catch {
      return undefined;
    }
    if (relative(this.root, path).startsWith('.') || path.endsWith(META_SUFFIX)) return undefined;
    return { path, filename, contentType: await this.contentTypeOf(path) };
  }

  private async contentTypeOf(path: string): Promise<string> {
    try {
      const meta = JSON.parse(await readFile(`${path}${META_SUFFIX}`, 'utf8')) as { contentType?: unknown };
      if (typeof meta.contentType === 'string') return meta.contentType;
    } catch {
      // No metadata file next to it: S3's own default.
    }
    return 'application/octet-stream';
  }

  private async sign(key: string, expires: number, filename: string): Promise<string> {
    return createHmac('sha256', await this.secret())
      .update(`${key}\n${expires}\n${filename}`)
      .digest('base64url');
  }

  private async secret(): Promise<Buffer> {
    const file = join(this.root, '.link-secret');
    try {
      return await readFile(file);
    } catch {
      await privateDir(this.root);
      const secret = randomBytes(32);
      // `wx`: two processes racing to create it keep the first one's secret.
      await writeFile(file, secret, { mode: 0o600, flag: 'wx' }).catch(() => undefined);
      return readFile(file);
    }
  }
}

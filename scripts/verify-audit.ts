import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Digest } from '#audit/digest';
import { verifyExport } from '#audit/offline-verify';

const USAGE = 'usage: npm run verify-audit -- <audit.jsonl> <digests dir> [--public-key file]';

/**
 * Offline verification of an audit export (GET /reports/audit.jsonl) against the signed digests, with nothing but
 * the digests' public key. Exit 0: intact; 1: tampering found (each problem printed); 2: wrong use or unreadable.
 */
export function main(args: string[], out: (line: string) => void = console.log): number {
  const keyFlag = args.indexOf('--public-key');
  const keyFile = keyFlag >= 0 ? args[keyFlag + 1] : undefined;
  const positional = args.filter((_, i) => keyFlag < 0 || (i !== keyFlag && i !== keyFlag + 1));
  const [exportFile, digestsDir] = positional;
  if (!exportFile || !digestsDir || positional.length !== 2 || (keyFlag >= 0 && !keyFile)) {
    out(USAGE);
    return 2;
  }
  let problems;
  try {
    const publicKey = readFileSync(keyFile ?? join(digestsDir, 'public-key.pem'), 'utf8');
    const digests = existsSync(digestsDir)
      ? readdirSync(digestsDir)
          .filter((f) => /^\d{4}-.*\.json$/.test(f))
          .map((f) => JSON.parse(readFileSync(join(digestsDir, f), 'utf8')) as Digest)
      : [];
    problems = verifyExport(readFileSync(exportFile, 'utf8'), digests, publicKey);
  } catch (err) {
    out(`verify-audit: ${(err as Error).message}`);
    return 2;
  }
  for (const p of problems) out(`TAMPERED ${JSON.stringify(p)}`);
  if (problems.length === 0) out('OK: every record, link, digest and signature checks out');
  return problems.length === 0 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main(process.argv.slice(2));

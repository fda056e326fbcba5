import { digestAdapters } from '#audit/digest-adapters';
import { writeDigest, writeMonthlyArchive } from '#audit/digest-job';
import { config } from '#platform/config';

/** Writes the audit digest on an interval in this process; answers the function that stops it. */
export function startLocalDigests(log: (line: string) => void): () => void {
  const seconds = process.env.AUDIT_DIGEST_INTERVAL_SECONDS ? config().AUDIT_DIGEST_INTERVAL_SECONDS : 60;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = running.then(async () => {
      try {
        const { signer, store } = digestAdapters();
        const digest = await writeDigest(signer, store);
        if (digest) log(`Audit digest ${digest.digestId}: ${digest.heads.length} chain head(s)`);
        const archive = await writeMonthlyArchive(signer, store);
        if (archive) log(`Audit archive ${archive}`);
      } catch (err) {
        log(`ERROR audit digest failed: ${(err as Error).message}`);
      }
    });
  };
  const timer = setInterval(tick, seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * One `analytics:rebuild` comparison in its own process, so its peak RSS is its own: used by the analytics
 * benchmark. Prints one JSON line: {seconds, charges, snapshots, queried, expectedItems, differences, baseRssMiB,
 * maxRssMiB, baseHeapMiB, peakHeapMiB}.
 *
 *   tsx scripts/bench/rebuild-child.ts <dynamodbEndpoint> <chargesTable> <analyticsTable> [rebuildModule]
 *
 * rebuildModule: the path of another module exporting `rebuild` (e.g. an earlier version) to measure instead.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type RebuildReport, type rebuild as Rebuild, scanAll } from '#analytics/rebuild';

const [endpoint, charges, analytics, module = '#analytics/rebuild'] = process.argv.slice(2);
if (!endpoint || !charges || !analytics) throw new Error('usage: rebuild-child.ts <endpoint> <charges> <analytics>');

const { rebuild } = (await import(module)) as { rebuild: typeof Rebuild };
const MiB = 2 ** 20;
const raw = new DynamoDBClient({
  endpoint,
  region: 'eu-central-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const db = DynamoDBDocumentClient.from(raw);
const baseRss = process.memoryUsage().rss;
const baseHeap = process.memoryUsage().heapUsed;
let peakHeap = baseHeap;
const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 20);
const started = performance.now();
const report: Partial<RebuildReport> & Omit<RebuildReport, 'queried'> = await rebuild({ db, charges, analytics });
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
const scanStarted = performance.now();
await scanAll(db, charges, () => undefined);
const scanSeconds = (performance.now() - scanStarted) / 1000;
raw.destroy();
console.log(
  JSON.stringify({
    seconds,
    charges: report.charges,
    snapshots: report.snapshots,
    queried: report.queried ?? null,
    expectedItems: report.expectedItems,
    differences: report.differences.length,
    baseRssMiB: baseRss / MiB,
    // resourceUsage().maxRSS is in KiB.
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    baseHeapMiB: baseHeap / MiB,
    peakHeapMiB: peakHeap / MiB,
    scanSeconds,
  }),
);

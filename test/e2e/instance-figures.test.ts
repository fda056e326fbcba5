import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken } from '#test/support/auth';
import { type LocalApi, startLocalApi } from '#test/support/local-api';

/** The answering instance's own figures: the detailed health's `system` block and the process metrics. */
let api: LocalApi;
let admin: string;

beforeAll(async () => {
  api = await startLocalApi();
  admin = await adminToken(api);
});
afterAll(() => api?.stop());

describe('GET /status/health/detailed: system', () => {
  it('memory, CPU time, event-loop delay and uptime of this instance', async () => {
    const res = await api.request('/status/health/detailed', { token: admin });
    expect(res.status, res.text).toBe(200);
    const { system } = res.json as { system: Record<string, Record<string, number> | string | number> };
    expect(system).toEqual({
      scope: 'instance',
      uptimeSeconds: expect.any(Number),
      memory: {
        rssBytes: expect.any(Number),
        heapUsedBytes: expect.any(Number),
        heapTotalBytes: expect.any(Number),
        externalBytes: expect.any(Number),
      },
      cpu: { userSeconds: expect.any(Number), systemSeconds: expect.any(Number) },
      eventLoopDelayMs: { mean: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) },
    });
    const memory = system.memory as Record<string, number>;
    expect(memory.rssBytes).toBeGreaterThan(memory.heapUsedBytes as number);
    expect((system.cpu as Record<string, number>).userSeconds).toBeGreaterThan(0);
    expect(system.uptimeSeconds).toBe(Math.round(process.uptime()));
  });
});

describe('GET /metrics: process metrics', () => {
  it("prom-client's default metrics, labelled with the service", async () => {
    const res = await api.request('/metrics', { token: admin });
    expect(res.status, res.text).toBe(200);
    const families = new Map(
      (
        parsePrometheusTextFormat(res.text) as Array<{
          name: string;
          metrics: Array<{ labels?: Record<string, string> }>;
        }>
      ).map((f) => [f.name, f]),
    );
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_gc_duration_seconds',
    ]) {
      expect(families.has(name), name).toBe(true);
    }
    expect(families.get('process_cpu_user_seconds_total')?.metrics[0]?.labels).toMatchObject({
      service: 'charge-records',
    });
    // The service's own series stay as they were.
    expect(families.has('charge_records_http_requests_total')).toBe(true);
  });
});

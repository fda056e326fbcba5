import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Figures of the one process that answered: in AWS one Lambda execution environment of many (each has its own,
 * and a frozen one measures nothing), locally the whole server. They describe that instance, never the fleet.
 */
export interface SystemFigures {
  scope: 'instance';
  uptimeSeconds: number;
  memory: { rssBytes: number; heapUsedBytes: number; heapTotalBytes: number; externalBytes: number };
  cpu: { userSeconds: number; systemSeconds: number };
  /** How late timers ran since the previous report of this instance (ms): what a slow handler costs the rest. */
  eventLoopDelayMs: { mean: number; p99: number; max: number };
}

const delay = monitorEventLoopDelay({ resolution: 20 });
delay.enable();

const ms = (nanoseconds: number) => Math.round(nanoseconds / 1e4) / 100;

export function systemFigures(): SystemFigures {
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  // No sample yet (the histogram starts empty): report 0 rather than NaN.
  const sampled = delay.count > 0;
  const figures: SystemFigures = {
    scope: 'instance',
    uptimeSeconds: Math.round(process.uptime()),
    memory: {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      externalBytes: memory.external,
    },
    cpu: { userSeconds: cpu.user / 1e6, systemSeconds: cpu.system / 1e6 },
    eventLoopDelayMs: sampled
      ? { mean: ms(delay.mean), p99: ms(delay.percentile(99)), max: ms(delay.max) }
      : { mean: 0, p99: 0, max: 0 },
  };
  delay.reset();
  return figures;
}

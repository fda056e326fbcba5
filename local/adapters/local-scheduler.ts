import { Cron } from 'croner';
import { logger } from '#platform/powertools';
import { croneOptions, cronerPattern } from '#reports/delivery/cron';
import type { ReportRunEvent, Scheduler, ScheduleSpec } from '#reports/delivery/ports';

export type ScheduleTarget = (event: ReportRunEvent) => Promise<unknown>;

interface Entry {
  spec: ScheduleSpec;
  job: Cron;
}

/**
 * The local stand-in for EventBridge Scheduler: the definitions' cron schedules as in-process croner jobs,
 * which call the target (the runner handler, with the event Scheduler would send) while the local runtime
 * runs. Until `start` is called, schedules are kept but do not fire.
 */
export class LocalScheduler implements Scheduler {
  private readonly entries = new Map<string, Entry>();
  private target: ScheduleTarget | undefined;

  async upsert(spec: ScheduleSpec): Promise<void> {
    this.entries.get(spec.name)?.job.stop();
    const job = new Cron(
      cronerPattern(spec.cron),
      // protect: a run still going when the next one is due is not started twice; unref: never keeps a process alive.
      { ...croneOptions(spec.timezone), paused: this.target === undefined, protect: true, unref: true, catch: true },
      () => this.fire(spec.name),
    );
    this.entries.set(spec.name, { spec, job });
  }

  async remove(name: string): Promise<void> {
    this.entries.get(name)?.job.stop();
    this.entries.delete(name);
  }

  get(name: string): (ScheduleSpec & { nextRun: Date | null }) | undefined {
    const entry = this.entries.get(name);
    return entry ? { ...entry.spec, nextRun: entry.job.nextRun() } : undefined;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  start(target: ScheduleTarget): void {
    this.target = target;
    for (const { job } of this.entries.values()) job.resume();
  }

  /** Stops firing and forgets every schedule (the next start loads them from the definitions again). */
  stop(): void {
    this.target = undefined;
    for (const { job } of this.entries.values()) job.stop();
    this.entries.clear();
  }

  /** What a due schedule does: call the target with the schedule's event. Tests call it as a fake clock. */
  async fire(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry || !this.target) return;
    try {
      await this.target(entry.spec.event);
    } catch (err) {
      // The runner has recorded the failed run and counted it; the log line is the local "DLQ".
      logger.error('Scheduled report run failed', { schedule: name, error: err as Error });
    }
  }
}

let instance: LocalScheduler | undefined;

/** The process's one local scheduler: the reports handler and the local runtime share it. */
export function localScheduler(): LocalScheduler {
  instance ??= new LocalScheduler();
  return instance;
}

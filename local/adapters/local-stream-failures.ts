import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBRecord } from 'aws-lambda';
import type { StreamFailure, StreamFailureSource } from '#audit/replay';
import { config } from '#platform/config';

/**
 * The local on-failure file (`<LOCAL_STATE_DIR>/audit-stream-failures.jsonl`, one JSON line per record the stream
 * poller gave up on): the local stand-in for the SQS on-failure queue. A replay takes the file aside first, so
 * records the poller adds meanwhile go to a new file; what is done moves to `<file>.replayed`, what is not goes back.
 */
export class LocalStreamFailureFile implements StreamFailureSource {
  private readonly pending = new Map<string, string>();
  private taken = false;

  constructor(private readonly file: string) {}

  private get working() {
    return `${this.file}.replaying`;
  }

  async receive(): Promise<StreamFailure[]> {
    if (this.taken || !existsSync(this.file)) return [];
    this.taken = true;
    renameSync(this.file, this.working);
    const lines = readFileSync(this.working, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    return lines.map((line, i) => {
      const id = `line ${i + 1}`;
      this.pending.set(id, line);
      try {
        return { id, records: [(JSON.parse(line) as { record: DynamoDBRecord }).record] };
      } catch (err) {
        return { id, records: [], problem: `unreadable line: ${(err as Error).message}` };
      }
    });
  }

  async done(failure: StreamFailure): Promise<void> {
    const line = this.pending.get(failure.id);
    if (line === undefined) return;
    appendFileSync(`${this.file}.replayed`, `${line}\n`, { mode: 0o600 });
    this.pending.delete(failure.id);
  }

  async close(): Promise<void> {
    if (!this.taken) return;
    if (this.pending.size > 0) appendFileSync(this.file, `${[...this.pending.values()].join('\n')}\n`, { mode: 0o600 });
    this.pending.clear();
    writeFileSync(this.working, '');
  }
}

/** The stream poller's on-failure file under LOCAL_STATE_DIR (local/stream-poller.ts writes it). */
export const localStreamFailuresFromConfig = () => () =>
  new LocalStreamFailureFile(join(config().LOCAL_STATE_DIR, 'audit-stream-failures.jsonl'));

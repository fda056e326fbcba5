/**
 * Powertools writes one JSON object per line, as CloudWatch wants it. A person watching `npm start` in a terminal
 * reads text better: there, and only there, each JSON log line is shown as
 * `08:46:25.792 INFO  message  key=value …` (errors with their stack below). Piped or redirected, stdout stays
 * JSON, line for line. Lambda never loads this: its log is always JSON.
 */

/** Keys every line carries (the Lambda context, the service): noise for a reader of one local process. */
const HIDDEN_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_request_id',
  'sampling_rate',
  'xray_trace_id',
  'error',
]);

const COLORS: Record<string, string> = {
  DEBUG: '\x1b[90m',
  INFO: '\x1b[36m',
  WARN: '\x1b[33m',
  ERROR: '\x1b[31m',
  CRITICAL: '\x1b[41m',
};
const RESET = '\x1b[0m';

/** Control and bidi characters as `\uXXXX`: a logged value must not move the cursor or recolour the terminal. */
const inert = (text: string) =>
  text.replace(
    /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

/** Printable ASCII without spaces, quotes or `=` as it is; anything else as JSON (quoted, escaped). */
const show = (value: unknown): string =>
  typeof value === 'string' && /^[\x21\x23-\x3c\x3e-\x7e]+$/.test(value) ? value : inert(JSON.stringify(value) ?? '');

/** One Powertools line as text; anything else (not a JSON object) unchanged. */
export function readableLine(line: string, color = false): string {
  if (!line.startsWith('{')) return line;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof record.timestamp === 'string' ? record.timestamp.slice(11, 23) : '';
  // An EMF metrics line: the values, by name.
  if (record._aws && typeof record._aws === 'object') {
    const names = (
      (record._aws as { CloudWatchMetrics?: Array<{ Metrics?: Array<{ Name: string }> }> }).CloudWatchMetrics ?? []
    )
      .flatMap((m) => m.Metrics ?? [])
      .map((m) => `${m.Name}=${show(record[m.Name])}`);
    return `${time} METRIC ${names.join(' ')}`.trim();
  }
  const level = String(record.level ?? '').padEnd(5);
  const keys = Object.entries(record)
    .filter(([key]) => !HIDDEN_KEYS.has(key))
    .map(
      ([key, value]) => `${inert(key)}=${show(key === 'function_name' ? String(value).replace(/^local-/, '') : value)}`,
    );
  const head = `${time} ${color ? `${COLORS[level.trim()] ?? ''}${level}${RESET}` : level} ${inert(String(record.message ?? ''))}`;
  const error = record.error as { name?: string; message?: string; stack?: string } | undefined;
  const stack = error
    ? `\n    ${inert(error.stack ?? `${error.name}: ${error.message}`)
        .split('\\u000a')
        .join('\n    ')}`
    : '';
  return `${head}${keys.length > 0 ? `  ${keys.join(' ')}` : ''}${stack}`;
}

/** Shows the log lines written to `stream` as text, when the stream is a terminal; otherwise leaves it alone. */
export function readableLogOnTerminal(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (!stream.isTTY) return false;
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const color = stream.hasColors?.() ?? false;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'string' || !chunk.startsWith('{')) return write(chunk, ...rest);
    const text = chunk
      .split('\n')
      .map((line) => readableLine(line, color))
      .join('\n');
    return write(text, ...rest);
  }) as typeof stream.write;
  return true;
}

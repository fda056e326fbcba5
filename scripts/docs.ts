/**
 * `npm run docs`: regenerates the tables in docs/ that are derived from code, between markers
 * `<!-- generated:<name>:start -->` and `<!-- generated:<name>:end -->`:
 * - `env` in docs/configuration.md, from the config schema (functions/platform/config.ts);
 * - `context` in docs/configuration.md, from the function settings a stage sets by CDK context (lib/stage-config.ts);
 * - `roles` in docs/authentication.md, from functions/platform/permissions.ts;
 * - `routes` in docs/http-api.md and `functions` in docs/architecture.md, from functions/platform/routes.ts.
 * Everything outside the markers is hand-written and left alone. test/unit/docs.test.ts fails when a generated
 * section is stale, so a change to one of those files comes with `npm run docs`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as z from '#platform/zod';
import { EnvSchema } from '#platform/config';
import { PERMISSIONS, ROLE_PERMISSIONS, ROLES } from '#platform/permissions';
import { FUNCTIONS, ROUTES } from '#platform/routes';
import { FUNCTION_SETTINGS } from '#lib/stage-config';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..');

export interface GeneratedSection {
  /** Markdown file, relative to the project root. */
  file: string;
  /** The marker name: `<!-- generated:<name>:start -->`. */
  name: string;
  render(): string;
}

/** Markdown table cell: no pipe may end the cell early, no line break may end the row. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
const code = (text: string) => `\`${text}\``;
const table = (header: string[], rows: string[][]) =>
  [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');

interface VariableDoc {
  description?: string;
  /** The default as the docs show it, where the schema's own is computed at run time or applied elsewhere. */
  shownDefault?: string;
}

/** A schema's static default, as the docs show it; undefined when it has none. */
function defaultOf(schema: z.core.$ZodType): string | undefined {
  if (!(schema instanceof z.core.$ZodDefault)) return undefined;
  const value: unknown = schema._zod.def.defaultValue;
  if (value === '') return 'empty';
  return code(typeof value === 'string' ? value : JSON.stringify(value));
}

/** Every variable of the config schema: name, default, meaning. */
export function envTable(): string {
  const rows = Object.entries(EnvSchema.shape).map(([name, schema]) => {
    const meta = (z.globalRegistry.get(schema) ?? {}) as VariableDoc;
    if (!meta.description) throw new Error(`${name} has no description in functions/platform/config.ts`);
    return [code(name), meta.shownDefault ?? defaultOf(schema) ?? '—', meta.description];
  });
  return table(['variable', 'default', 'meaning'], rows);
}

/** The function settings a stage sets by CDK context: key, variable, example. */
export function contextTable(): string {
  const rows = Object.entries(FUNCTION_SETTINGS).map(([key, variable]) => [
    code(key),
    code(variable),
    code(`-c ${key}=…`),
  ]);
  return table(['context key', 'variable', 'on the command line'], rows);
}

/** Roles and the permissions each grants. */
export function rolesTable(): string {
  const rows = ROLES.map((role) => {
    const granted = ROLE_PERMISSIONS[role];
    const list = granted.map(code).join(' ');
    return [code(role), granted.length === PERMISSIONS.length ? `all: ${list}` : list];
  });
  return table(['role', 'permissions'], rows);
}

/** Every API route: method, path, the function that answers it, and who may call it. */
export function routesTable(): string {
  const rows = ROUTES.map((r) => [
    code(r.method),
    code(r.path),
    code(r.function),
    r.access === 'public' || r.access === 'authenticated' ? r.access : code(r.access),
  ]);
  return table(['method', 'path', 'function', 'access'], rows);
}

/** Every Lambda function: entry module, what it does, size, and what it may touch. */
export function functionsTable(): string {
  const rows = Object.entries(FUNCTIONS).map(([id, fn]) => {
    const def: { tables: Record<string, string>; signingKeys?: string } = fn;
    const tables = Object.entries(def.tables)
      .map(([table, access]) => `${table}: ${access}`)
      .join(', ');
    return [
      code(id),
      `[${fn.entry}](../${fn.entry})`,
      fn.description,
      `${fn.memorySize} MB, ${fn.timeoutSeconds} s`,
      tables || '—',
      def.signingKeys ?? '—',
    ];
  });
  return table(['function', 'entry', 'what', 'memory, timeout', 'tables', 'signing keys'], rows);
}

export const SECTIONS: readonly GeneratedSection[] = [
  { file: 'docs/configuration.md', name: 'env', render: envTable },
  { file: 'docs/configuration.md', name: 'context', render: contextTable },
  { file: 'docs/authentication.md', name: 'roles', render: rolesTable },
  { file: 'docs/http-api.md', name: 'routes', render: routesTable },
  { file: 'docs/architecture.md', name: 'functions', render: functionsTable },
];

/** `markdown` with the named section's body replaced; throws when its markers are missing. */
export function replaceSection(markdown: string, name: string, body: string, file = 'the document'): string {
  const start = `<!-- generated:${name}:start -->`;
  const end = `<!-- generated:${name}:end -->`;
  const from = markdown.indexOf(start);
  const to = markdown.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${start} … ${end} markers`);
  return `${markdown.slice(0, from + start.length)}\n${body}\n${markdown.slice(to)}`;
}

/** Each file with generated sections: its content now, and what it should be. */
export function generate(root = PROJECT_ROOT): { file: string; current: string; expected: string }[] {
  const files = [...new Set(SECTIONS.map((s) => s.file))];
  return files.map((file) => {
    const current = readFileSync(resolve(root, file), 'utf8');
    const expected = SECTIONS.filter((s) => s.file === file).reduce(
      (text, section) => replaceSection(text, section.name, section.render(), file),
      current,
    );
    return { file, current, expected };
  });
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  for (const { file, current, expected } of generate()) {
    if (current === expected) {
      console.log(`${file}: up to date`);
    } else {
      writeFileSync(resolve(PROJECT_ROOT, file), expected);
      console.log(`${file}: regenerated`);
    }
  }
}

import { createHash } from 'node:crypto';
import type { OpenApiDocument } from './document';

/**
 * `GET /docs`: the OpenAPI document as one static HTML page, rendered here from the document. No script at all and
 * one stylesheet allowed by its hash, so the page needs no CDN and its CSP allows nothing else.
 */

type Json = Record<string, unknown>;

const STYLE = `
:root { color-scheme: light dark; --fg: #1c1e21; --muted: #5f6368; --line: #d9dce1; --code: #f3f4f6; --accent: #0b57d0;
  --get: #1a7f37; --post: #0b57d0; --patch: #9a6700; --delete: #cf222e; --put: #8250df; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e6e6; --muted: #a0a4ab; --line: #3a3d42; --code: #24272b;
  --accent: #8ab4f8; } body { background: #141517; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); }
.layout { display: grid; grid-template-columns: 290px 1fr; }
nav { position: sticky; top: 0; height: 100vh; overflow-y: auto; padding: 1rem; border-right: 1px solid var(--line);
  font-size: 13px; }
nav h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 1.2rem 0 .3rem; }
nav ul { list-style: none; margin: 0; padding: 0; }
nav li { margin: .15rem 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
main { padding: 1.5rem 2.5rem 4rem; max-width: 1100px; min-width: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
h1 { margin-top: 0; }
h2 { margin-top: 2.5rem; padding-bottom: .3rem; border-bottom: 1px solid var(--line); }
h3 { margin: 2rem 0 .5rem; font-size: 17px; }
h4 { margin: 1.2rem 0 .4rem; font-size: 14px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { background: var(--code); padding: .1em .3em; border-radius: 4px; }
pre { background: var(--code); padding: .8rem 1rem; border-radius: 6px; overflow-x: auto; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: .35rem .6rem; border-bottom: 1px solid var(--line); }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
.method { display: inline-block; min-width: 4.2em; padding: .05em .4em; border-radius: 4px; color: #fff;
  font: 600 12px/1.6 ui-monospace, monospace; text-align: center; }
.get { background: var(--get); } .post { background: var(--post); } .patch { background: var(--patch); }
.delete { background: var(--delete); } .put { background: var(--put); }
.path { font: 600 15px ui-monospace, monospace; }
.op { border-top: 1px solid var(--line); padding-top: .5rem; }
.muted, .req { color: var(--muted); font-size: 13px; }
.req { color: var(--delete); }
.status { font-weight: 600; font-family: ui-monospace, monospace; }
.d1 { padding-left: 1.6rem; } .d2 { padding-left: 2.8rem; } .d3 { padding-left: 4rem; }
details summary { cursor: pointer; color: var(--muted); font-size: 13px; }
@media (max-width: 800px) { .layout { display: block; } nav { position: static; height: auto; border: 0; } }
`;

/** The page's Content-Security-Policy: its one stylesheet by hash, nothing else. */
export const REFERENCE_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The little Markdown the descriptions use: paragraphs, `- ` lists, `code`, **bold** and [links](…). */
function markdown(text: string | undefined): string {
  if (!text) return '';
  const inline = (line: string) =>
    escapeHtml(line)
      .replace(/`([^`]+)`/g, '<code>$1</code>')
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
      .replace(/\[([^\]]+)\]\((#[\w.-]+|https?:\/\/[^)\s]+)\)/g, '<a href="$2">$1</a>');
  return text
    .trim()
    .split(/\n{2,}/)
    .map((block) => {
      const lines = block.split('\n');
      if (lines.every((l) => l.startsWith('- '))) {
        return `<ul>${lines.map((l) => `<li>${inline(l.slice(2))}</li>`).join('')}</ul>`;
      }
      return `<p>${inline(lines.join(' '))}</p>`;
    })
    .join('\n');
}

const asObject = (value: unknown): Json => (value && typeof value === 'object' ? (value as Json) : {});
const slug = (text: string) => text.replace(/[^A-Za-z0-9_-]+/g, '-');
const refName = (ref: string) => ref.slice(ref.lastIndexOf('/') + 1);

/** A short type for a schema: `string (date)`, `array of Charge`, `"a" | "b"`; components link to their section. */
function typeOf(schema: Json): string {
  if (typeof schema.$ref === 'string') {
    const name = refName(schema.$ref);
    return `<a href="#schema-${slug(name)}">${escapeHtml(name)}</a>`;
  }
  if (Array.isArray(schema.enum))
    return schema.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(' | ');
  if ('const' in schema) return `<code>${escapeHtml(JSON.stringify(schema.const))}</code>`;
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const parts = schema[key];
    if (Array.isArray(parts)) return parts.map((p) => typeOf(asObject(p))).join(key === 'allOf' ? ' and ' : ' or ');
  }
  const type = Array.isArray(schema.type)
    ? schema.type.join(' or ')
    : typeof schema.type === 'string'
      ? schema.type
      : '';
  if (type === 'array') return `array of ${typeOf(asObject(schema.items))}`;
  if (type === 'object' && !schema.properties && schema.additionalProperties && schema.additionalProperties !== true) {
    return `map of ${typeOf(asObject(schema.additionalProperties))}`;
  }
  const format = typeof schema.format === 'string' ? ` <span class="muted">(${escapeHtml(schema.format)})</span>` : '';
  return `${escapeHtml(type || 'any')}${format}`;
}

/** Limits worth reading next to a field: lengths, ranges, default, pattern. */
function constraints(schema: Json): string {
  const parts: string[] = [];
  const add = (label: string, key: string) => {
    if (schema[key] !== undefined) parts.push(`${label} ${JSON.stringify(schema[key])}`);
  };
  add('min length', 'minLength');
  add('max length', 'maxLength');
  add('≥', 'minimum');
  add('>', 'exclusiveMinimum');
  add('≤', 'maximum');
  add('min items', 'minItems');
  add('max items', 'maxItems');
  add('default', 'default');
  if (typeof schema.pattern === 'string' && schema.pattern.length <= 60 && !schema.format) {
    parts.push(`pattern <code>${escapeHtml(schema.pattern)}</code>`);
  }
  return parts.length
    ? `<div class="muted">${parts.map((p) => (p.startsWith('pattern') ? p : escapeHtml(p))).join(', ')}</div>`
    : '';
}

/** An inline object (not a component) whose fields are shown nested under its field. */
function inlineObject(schema: Json): Json | undefined {
  if (schema.$ref) return undefined;
  if (schema.type === 'object' && schema.properties) return schema;
  if (schema.type === 'array') return inlineObject(asObject(schema.items));
  const variants = schema.anyOf;
  if (Array.isArray(variants)) {
    return variants.map((v) => inlineObject(asObject(v))).find((v) => v !== undefined);
  }
  return undefined;
}

function fieldRows(schema: Json, depth = 0): string {
  const properties = asObject(schema.properties);
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  return Object.entries(properties)
    .map(([name, raw]) => {
      const field = asObject(raw);
      const nested = depth < 3 ? inlineObject(field) : undefined;
      const row =
        `<tr><td class="d${depth}"><code>${escapeHtml(name)}</code>` +
        `${required.has(name) ? ' <span class="req">required</span>' : ''}</td>` +
        `<td>${typeOf(field)}</td><td>${markdown(field.description as string | undefined)}${constraints(field)}</td></tr>`;
      return row + (nested ? fieldRows(nested, depth + 1) : '');
    })
    .join('\n');
}

function schemaBlock(schema: Json): string {
  const object = schema.type === 'object' && schema.properties ? schema : undefined;
  const head = `<p>${typeOf(schema)}</p>`;
  if (!object) return head;
  return `<table><tr><th>field</th><th>type</th><th>about</th></tr>${fieldRows(object)}</table>`;
}

function example(value: unknown): string {
  if (value === undefined) return '';
  return `<details><summary>Example</summary><pre><code>${escapeHtml(JSON.stringify(value, null, 2))}</code></pre></details>`;
}

/** Follows a `$ref` to `#/components/…` in the document. */
function resolve(doc: Json, value: unknown): Json {
  const node = asObject(value);
  if (typeof node.$ref !== 'string' || !node.$ref.startsWith('#/')) return node;
  return node.$ref
    .slice(2)
    .split('/')
    .reduce<Json>((at, key) => asObject(at[key.replace(/~1/g, '/').replace(/~0/g, '~')]), doc);
}

function contentBlock(doc: Json, content: unknown): string {
  return Object.entries(asObject(content))
    .map(([mediaType, raw]) => {
      const media = asObject(raw);
      const schema = asObject(media.schema);
      // A component's fields are shown here too, under its name: the reader should not have to jump.
      const target = resolve(doc, schema);
      const shown = !Object.keys(schema).length
        ? ''
        : schema.$ref && target.properties
          ? `<p>${typeOf(schema)}</p><table><tr><th>field</th><th>type</th><th>about</th></tr>${fieldRows(target)}</table>`
          : schemaBlock(schema);
      const sample = media.example ?? (Array.isArray(target.examples) ? (target.examples as unknown[])[0] : undefined);
      return `<p class="muted">${escapeHtml(mediaType)}</p>${shown}${example(sample)}`;
    })
    .join('\n');
}

function operationBlock(doc: Json, method: string, path: string, op: Json): string {
  const id = `op-${slug(String(op.operationId ?? `${method}-${path}`))}`;
  const parameters = (Array.isArray(op.parameters) ? op.parameters : []).map((p) => resolve(doc, p));
  const security = Array.isArray(op.security) && op.security.length === 0 ? 'public' : 'bearer token';
  const permission = typeof op['x-required-permission'] === 'string' ? op['x-required-permission'] : undefined;
  const parts = [
    `<section class="op" id="${id}">`,
    `<h3><span class="method ${method}">${method.toUpperCase()}</span> <span class="path">${escapeHtml(path)}</span></h3>`,
    `<p><strong>${escapeHtml(String(op.summary ?? ''))}</strong> <span class="muted">— ${security}${
      permission ? `, permission <code>${escapeHtml(permission)}</code>` : ''
    }</span></p>`,
    markdown(op.description as string | undefined),
  ];
  if (parameters.length) {
    parts.push(
      '<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>about</th></tr>',
      ...parameters.map((p) => {
        const schema = asObject(p.schema);
        return (
          `<tr><td><code>${escapeHtml(String(p.name))}</code>${p.required ? ' <span class="req">required</span>' : ''}</td>` +
          `<td>${escapeHtml(String(p.in))}</td><td>${typeOf(schema)}</td>` +
          `<td>${markdown(p.description as string | undefined)}${constraints(schema)}</td></tr>`
        );
      }),
      '</table>',
    );
  }
  const body = resolve(doc, op.requestBody);
  if (body.content) {
    parts.push(`<h4>Request body${body.required ? '' : ' (optional)'}</h4>`, contentBlock(doc, body.content));
  }
  parts.push('<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>headers</th></tr>');
  for (const [status, raw] of Object.entries(asObject(op.responses))) {
    const response = resolve(doc, raw);
    const headers = Object.keys(asObject(response.headers)).filter((h) => !ALWAYS_SENT.has(h));
    // Shared error answers show their shape once, under Schemas; a route's own answers show theirs here.
    const shared = typeof asObject(raw).$ref === 'string';
    parts.push(
      `<tr><td class="status">${escapeHtml(status)}</td><td>${markdown(String(response.description ?? ''))}` +
        `${shared ? '' : contentBlock(doc, response.content)}</td>` +
        `<td>${headers.map((h) => `<code>${escapeHtml(h)}</code>`).join(' ')}</td></tr>`,
    );
  }
  parts.push('</table></section>');
  return parts.join('\n');
}

/** Headers on every answer: listed once in the introduction, not under every response. */
const ALWAYS_SENT = new Set([
  'X-Request-ID',
  'Strict-Transport-Security',
  'X-Content-Type-Options',
  'Cache-Control',
  'X-Frame-Options',
  'Content-Security-Policy',
  'Referrer-Policy',
]);

interface Operation {
  method: string;
  path: string;
  op: Json;
}

/** The whole page. `documentUrl` is where the JSON document is, relative to the page. */
export function renderReferencePage(document: OpenApiDocument, documentUrl = 'openapi.json'): string {
  const doc = document as unknown as Json;
  const info = asObject(doc.info);
  const tags = (Array.isArray(doc.tags) ? doc.tags : []).map(asObject);
  const operations: Operation[] = Object.entries(asObject(doc.paths)).flatMap(([path, item]) =>
    METHODS.filter((m) => asObject(item)[m]).map((method) => ({ method, path, op: asObject(asObject(item)[method]) })),
  );
  const byTag = new Map<string, Operation[]>(tags.map((t) => [String(t.name), []]));
  for (const operation of operations) {
    const tag = String((operation.op.tags as string[] | undefined)?.[0] ?? 'Other');
    byTag.set(tag, [...(byTag.get(tag) ?? []), operation]);
  }
  const schemas = Object.entries(asObject(asObject(doc.components).schemas));
  const tagInfo = new Map(tags.map((t) => [String(t.name), t]));

  const nav = [
    `<p><a href="#top"><strong>${escapeHtml(String(info.title))}</strong></a><br><span class="muted">${escapeHtml(
      String(info.version),
    )} · <a href="${escapeHtml(documentUrl)}">openapi.json</a></span></p>`,
    ...[...byTag].map(
      ([tag, ops]) =>
        `<h2><a href="#tag-${slug(tag)}">${escapeHtml(tag)}</a></h2><ul>${ops
          .map(
            ({ method, path, op }) =>
              `<li><a href="#op-${slug(String(op.operationId ?? `${method}-${path}`))}"><span class="method ${method}">${method.toUpperCase()}</span> ${escapeHtml(path)}</a></li>`,
          )
          .join('')}</ul>`,
    ),
    `<h2><a href="#schemas">Schemas</a></h2>`,
  ].join('\n');

  const sections = [...byTag].map(([tag, ops]) =>
    [
      `<h2 id="tag-${slug(tag)}">${escapeHtml(tag)}</h2>`,
      markdown(tagInfo.get(tag)?.description as string | undefined),
      ...ops.map(({ method, path, op }) => operationBlock(doc, method, path, op)),
    ].join('\n'),
  );

  const schemaSections = schemas.map(
    ([name, schema]) =>
      `<section id="schema-${slug(name)}"><h3>${escapeHtml(name)}</h3>${markdown(
        asObject(schema).description as string | undefined,
      )}${schemaBlock(asObject(schema))}${example((asObject(schema).examples as unknown[] | undefined)?.[0])}</section>`,
  );

  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(String(info.title))} — reference</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<div class="layout">',
    `<nav>${nav}</nav>`,
    '<main>',
    `<h1 id="top">${escapeHtml(String(info.title))} <span class="muted">${escapeHtml(String(info.version))}</span></h1>`,
    `<p>The OpenAPI 3.1 document: <a href="${escapeHtml(documentUrl)}">${escapeHtml(documentUrl)}</a>.</p>`,
    markdown(info.description as string | undefined),
    ...sections,
    '<h2 id="schemas">Schemas</h2>',
    ...schemaSections,
    '</main>',
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

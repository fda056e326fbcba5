import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '#platform/errors';
import { OPENAPI_DOCUMENT } from '#platform/openapi/document';
import { REFERENCE_PAGE_CSP, renderReferencePage } from '#platform/openapi/reference-page';
import { ROUTES } from '#platform/routes';
import { DOCUMENT_FILE, generate, PROJECT_ROOT, TYPES_FILE } from '#scripts/openapi';

/**
 * The OpenAPI document is generated from the code and checked here: it is current, it describes exactly the routes
 * of the route table, and the linter finds no error in it.
 */

type Json = Record<string, unknown>;
const doc = OPENAPI_DOCUMENT as unknown as Json;
const paths = doc.paths as Record<string, Record<string, Json>>;
const operation = (method: string, path: string) => paths[path]?.[method.toLowerCase()];
const statuses = (op: Json | undefined) => Object.keys((op?.responses ?? {}) as Json);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

describe('generated files', () => {
  let generated: { file: string; expected: string }[];
  beforeAll(async () => {
    generated = await generate();
  }, 120_000);

  it.each([DOCUMENT_FILE, TYPES_FILE])('%s is up to date (run `npm run openapi`)', (file) => {
    const expected = generated.find((g) => g.file === file)?.expected;
    expect(readFileSync(resolve(PROJECT_ROOT, file), 'utf8') === expected, `${file} is stale`).toBe(true);
  });
});

describe('routes', () => {
  it('every route of ROUTES is an operation of the document', () => {
    const missing = ROUTES.filter((r) => !operation(r.method, r.path)).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
  });

  it('every operation of the document is a route of ROUTES', () => {
    const routes = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
    const extra = Object.entries(paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => METHODS.includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`)
        .filter((key) => !routes.has(key)),
    );
    expect(extra).toEqual([]);
  });

  it.each(ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))('%s documents its access and errors', (_, r) => {
    const op = operation(r.method, r.path)!;
    const listed = statuses(op);
    // A public route needs no token (sign-in still answers 401 for wrong credentials).
    if (r.access === 'public') {
      expect(op.security).toEqual([]);
    } else {
      expect(op.security).toBeUndefined();
      expect(listed).toContain('401');
    }
    if (r.access !== 'public' && r.access !== 'authenticated') {
      expect(op['x-required-permission']).toBe(r.access);
      expect(listed).toContain('403');
    }
    if (r.jsonBody) expect(listed).toEqual(expect.arrayContaining(['413', '415', '422']));
    if (r.path.includes('{')) expect(listed).toContain('404');
    for (const status of ['400', '429', '500', '503']) expect(listed).toContain(status);
    expect(listed.some((s) => s.startsWith('2') || s.startsWith('3'))).toBe(true);
  });

  it('a 201 says where the new resource is; changes of charges need If-Match', () => {
    for (const [path, item] of Object.entries(paths)) {
      for (const op of Object.values(item)) {
        const created = (op.responses as Record<string, Json>)['201'];
        if (created) expect(Object.keys(created.headers as Json), path).toContain('Location');
      }
    }
    for (const method of ['PATCH', 'DELETE']) {
      const op = operation(method, '/charges/{id}')!;
      expect(op.parameters).toContainEqual(expect.objectContaining({ name: 'If-Match', in: 'header', required: true }));
      expect(statuses(op)).toEqual(expect.arrayContaining(['412', '428']));
    }
    const read = (operation('GET', '/charges/{id}')!.responses as Record<string, Json>)['200']!;
    expect(Object.keys(read.headers as Json)).toContain('ETag');
  });

  it('each shared error answer lists exactly the codes of its status', () => {
    const responses = (doc.components as Json).responses as Record<string, Json>;
    for (const response of Object.values(responses)) {
      const schema = ((response.content as Json)['application/json'] as Json).schema as { allOf: Json[] };
      const codes = (((schema.allOf[1]!.properties as Json).error as Json).properties as Json).code as {
        enum: string[];
      };
      const statusOf = new Set(codes.enum.map((code) => ERROR_STATUS[code as keyof typeof ERROR_STATUS]));
      expect(statusOf.size, JSON.stringify(codes.enum)).toBe(1);
    }
  });
});

describe('lint (Redocly, recommended rules)', () => {
  /** Warnings the document keeps on purpose. */
  const ACCEPTED: Record<string, string> = {
    // The product is not licensed to anyone: the repository is private.
    'info-license': 'no license to state',
    // A run's file is only ever a redirect to its download link.
    'operation-2xx-response': 'GET /reports/runs/{id}/download answers 303',
    // Referenced from x-unmatched-requests, which the linter does not read.
    'no-unused-components': 'MethodNotAllowed',
  };

  it('finds no error, and no warning but the accepted ones', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({
      source: readFileSync(resolve(PROJECT_ROOT, DOCUMENT_FILE), 'utf8'),
      absoluteRef: resolve(PROJECT_ROOT, DOCUMENT_FILE),
      config,
    });
    const describe = (p: (typeof problems)[number]) =>
      `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`;
    expect(problems.filter((p) => p.severity === 'error').map(describe)).toEqual([]);
    expect(problems.filter((p) => !(p.ruleId in ACCEPTED)).map(describe)).toEqual([]);
  }, 60_000);
});

describe('reference page', () => {
  const page = renderReferencePage(OPENAPI_DOCUMENT);

  it('runs no script and allows only its own stylesheet', () => {
    expect(page).not.toMatch(/<script|\son[a-z]+=|javascript:|\sstyle=/i);
    const styles = [...page.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0]!, 'utf8').digest('base64');
    expect(REFERENCE_PAGE_CSP).toBe(
      `default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
  });

  it('shows every operation and schema', () => {
    for (const r of ROUTES) {
      expect(page).toContain(`<span class="path">${r.path}</span>`);
    }
    for (const name of Object.keys(((doc.components as Json).schemas ?? {}) as Json)) {
      expect(page).toContain(`id="schema-${name}"`);
    }
  });
});

/**
 * `npm run smoke -- <base url>`: proves a deployed (or local) API end to end, as a client would:
 * health; login as SMOKE_USERNAME / SMOKE_PASSWORD (an admin); a charge through its lifecycle (created with an
 * `articleId` of `SMOKE-…`, quarantined by the admin, released by a second, quality-manager user, as the four-eyes
 * rule demands); the charge's audit records; its PDF report; and the console's first page where the API has one.
 *
 * The quality-manager user (SMOKE_QA_USERNAME, default `smoke-qa`) is created on the first run and reused after:
 * its password is SMOKE_QA_PASSWORD or, by default, derived from SMOKE_PASSWORD, so every run can sign in as it.
 * Smoke charges stay (a charge is never deleted), told apart by their article id.
 *
 * Exit code 0 when every step passed, 1 when one failed (the step and the answer are printed), 2 for wrong usage.
 */
import { createHmac } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { apiClient } from '#scripts/api-client';

export interface SmokeOptions {
  /** An admin (users:manage, charges:write, audit:read, reports:read). */
  username: string;
  password: string;
  qaUsername?: string;
  qaPassword?: string;
  log?: (line: string) => void;
  /** How long the audit record may take to appear (the audit trail is written from the table stream). */
  auditTimeoutMs?: number;
}

export interface SmokeResult {
  chargeId: string;
  articleId: string;
  /** Steps that passed, in order; a skipped one says so. */
  steps: string[];
}

/** A step failed: what was asked, and what came back. */
export class SmokeFailure extends Error {
  constructor(step: string, detail: string) {
    super(`${step}: ${detail}`);
    this.name = 'SmokeFailure';
  }
}

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  json: unknown;
}

/** The QA user's password when none is given: stable per SMOKE_PASSWORD, so a later run signs in again. */
export const derivedQaPassword = (adminPassword: string) =>
  `Smoke-${createHmac('sha256', adminPassword).update('smoke-qa').digest('base64url').slice(0, 24)}`;

const today = () => new Date().toISOString().slice(0, 10);

export async function runSmoke(baseUrl: string, options: SmokeOptions): Promise<SmokeResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const base = baseUrl.replace(/\/+$/, '');
  const steps: string[] = [];
  const passed = (step: string) => {
    steps.push(step);
    log(`ok  ${step}`);
  };

  const call = async (
    method: string,
    path: string,
    init: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: 'manual',
    });
    const body = Buffer.from(await res.arrayBuffer());
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, body, json };
  };
  const expectStatus = (step: string, answer: Answer, ...statuses: number[]) => {
    if (!statuses.includes(answer.status)) {
      throw new SmokeFailure(
        step,
        `expected ${statuses.join(' or ')}, got ${answer.status}: ${answer.body.toString('utf8').slice(0, 500)}`,
      );
    }
  };
  // JSON routes go through the typed client generated from the OpenAPI document; files and the console by `call`.
  const api = (token?: string) => apiClient(base, token);
  const expectTyped = async <T>(
    step: string,
    pending: Promise<{ data?: T; error?: unknown; response: Response }>,
    ...statuses: number[]
  ): Promise<{ status: number; data: T | undefined }> => {
    const { data, error, response } = await pending;
    if (!statuses.includes(response.status)) {
      throw new SmokeFailure(
        step,
        `expected ${statuses.join(' or ')}, got ${response.status}: ${JSON.stringify(error ?? data).slice(0, 500)}`,
      );
    }
    return { status: response.status, data };
  };
  const login = async (step: string, username: string, password: string) => {
    const { data } = await expectTyped(step, api().POST('/auth/login', { body: { username, password } }), 200);
    if (typeof data?.accessToken !== 'string') throw new SmokeFailure(step, 'no accessToken in the answer');
    return data.accessToken;
  };

  // 1. Health
  await expectTyped('health', api().GET('/status/health'), 200);
  passed('health: 200');

  // 2. Login as the admin
  const admin = await login(`login as ${options.username}`, options.username, options.password);
  passed(`login as ${options.username}`);

  // 3. The second user, for the four-eyes release: created once, reused after.
  const qaUsername = options.qaUsername ?? 'smoke-qa';
  const qaPassword = options.qaPassword ?? derivedQaPassword(options.password);
  const created = await expectTyped(
    `create ${qaUsername}`,
    api(admin).POST('/users', {
      body: {
        username: qaUsername,
        password: qaPassword,
        roles: ['quality_manager'],
        displayName: 'Smoke test QA',
        reason: 'Smoke test account',
      },
    }),
    201,
    409,
  );
  const qa = await login(
    `login as ${qaUsername} (${created.status === 201 ? 'created now' : 'exists'}; if it exists with another password, set SMOKE_QA_PASSWORD or disable it and set SMOKE_QA_USERNAME)`,
    qaUsername,
    qaPassword,
  );
  passed(`login as ${qaUsername} (${created.status === 201 ? 'created' : 'reused'})`);

  // 4. A charge through its lifecycle: created, quarantined by the admin, released by the other user.
  const articleId = `SMOKE-${new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14)}`;
  const charge = await expectTyped(
    'create charge',
    api(admin).POST('/charges', {
      body: { articleId, quantity: 1, unit: 'kg', productionDate: today(), notes: 'smoke test' },
    }),
    201,
  );
  const chargeId = charge.data?.chargeId;
  if (!chargeId) throw new SmokeFailure('create charge', 'no chargeId in the answer');
  passed(`create charge ${chargeId} (${articleId})`);

  const move = async (
    step: string,
    token: string,
    version: number,
    status: 'quarantine' | 'released',
    signaturePassword?: string,
  ) => {
    // A release is a QA decision: signed with the signer's password in the same request.
    const signature =
      signaturePassword === undefined
        ? {}
        : { signature: { meaning: 'approved_for_release' as const, password: signaturePassword } };
    const answer = await expectTyped(
      step,
      api(token).PATCH('/charges/{id}', {
        params: { path: { id: chargeId }, header: { 'If-Match': `"${version}"` } },
        body: { status, reason: `smoke test: ${status}`, ...signature },
      }),
      200,
    );
    const now = answer.data?.status;
    if (now !== status) throw new SmokeFailure(step, `status is ${String(now)}, expected ${status}`);
    passed(step);
  };
  await move('quarantine (admin)', admin, 1, 'quarantine');
  await move(`release (${qaUsername}, four eyes, signed)`, qa, 2, 'released', qaPassword);

  // 5. Its audit records: written from the table stream, so they may take a moment.
  const deadline = Date.now() + (options.auditTimeoutMs ?? 60_000);
  for (;;) {
    const audit = await expectTyped(
      'audit records',
      api(admin).GET('/audit', { params: { query: { entityType: 'charge', entityId: chargeId, limit: '100' } } }),
      200,
    );
    const versions = (audit.data?.items ?? []).map((r) => r.version);
    if (versions.includes(3)) {
      passed(`audit records of the charge (${versions.length})`);
      break;
    }
    if (Date.now() > deadline) {
      throw new SmokeFailure(
        'audit records',
        `no record of the release (version 3) yet, only versions ${versions.join(', ') || 'none'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }

  // 6. The charge's PDF report, as bytes (the API's binary media types decide this).
  const pdf = await call('GET', `/charges/${chargeId}/report.pdf`, {
    token: admin,
    headers: { accept: 'application/pdf' },
  });
  expectStatus('PDF report', pdf, 200);
  if (pdf.body.subarray(0, 4).toString('latin1') !== '%PDF') {
    throw new SmokeFailure(
      'PDF report',
      `the body does not start with %PDF: ${JSON.stringify(pdf.body.subarray(0, 16).toString('latin1'))}`,
    );
  }
  passed(`PDF report (${pdf.body.length} bytes)`);

  // 7. The console's first page, where the API serves one.
  const consolePage = await call('GET', '/console/', { token: admin, headers: { accept: 'text/html' } });
  if (consolePage.status === 404) {
    passed('console: skipped (GET /console/ answers 404: no console on this API)');
  } else {
    expectStatus('console', consolePage, 200);
    passed('console: 200');
  }

  return { chargeId, articleId, steps };
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  const baseUrl = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
  const { SMOKE_USERNAME: username, SMOKE_PASSWORD: password } = process.env;
  if (!baseUrl || !/^https?:\/\//.test(baseUrl) || !username || !password) {
    console.error(
      'Usage: SMOKE_USERNAME=<admin> SMOKE_PASSWORD=<password> npm run smoke -- <base url>\n' +
        '  e.g. npm run smoke -- https://abc123.execute-api.eu-central-1.amazonaws.com/v1 (docs/deploy.md)',
    );
    process.exit(2);
  }
  try {
    const result = await runSmoke(baseUrl, {
      username,
      password,
      qaUsername: process.env.SMOKE_QA_USERNAME || undefined,
      qaPassword: process.env.SMOKE_QA_PASSWORD || undefined,
    });
    console.log(`Smoke test passed: ${result.steps.length} steps, charge ${result.chargeId} (${result.articleId})`);
  } catch (err) {
    console.error(`Smoke test FAILED at ${(err as Error).message}`);
    process.exit(1);
  }
}

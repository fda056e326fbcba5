import { describe, expect, it } from 'vitest';
import { loadConfig, overlapWarning } from '#platform/config';

/**
 * A variable set to the empty string (docker-compose `${VAR:-}`, an empty CI variable) counts as unset: read as
 * 0 or "", `SIGNING_KEY_OVERLAP_SECONDS=` would drop the previous signing key from the JWKS on rotation.
 * `loadConfig` gets an explicit environment here, never the process's.
 */
describe('loadConfig', () => {
  it('an empty variable counts as unset: every default applies', () => {
    // Prepare
    const empty = Object.fromEntries(
      [
        'PORT',
        'DYNAMODB_LOCAL_PORT',
        'SIGNING_KEY_OVERLAP_SECONDS',
        'ACCESS_TOKEN_TTL_SECONDS',
        'RATE_LIMIT_PER_MINUTE',
        'JWT_ISSUER',
        'JWT_AUDIENCE',
        'LOG_LEVEL',
        'DEBUG',
        'OIDC_PROVIDERS',
        'TABLE_PREFIX',
        'BOOTSTRAP_ADMIN_PASSWORD',
        'DYNAMODB_ENDPOINT',
        'PUBLIC_BASE_URL',
        'REPORTS_BUCKET',
      ].map((name) => [name, '']),
    );
    // Act
    const fromEmpty = loadConfig(empty);
    const fromNothing = loadConfig({});
    // Assess
    expect(fromEmpty).toEqual(fromNothing);
    expect(fromEmpty).toMatchObject({
      PORT: 3000,
      DYNAMODB_LOCAL_PORT: 8000,
      JWT_ISSUER: 'http://127.0.0.1:3000',
      JWT_AUDIENCE: 'charge-records',
      LOG_LEVEL: 'INFO',
      DEBUG: false,
      // The access-token lifetime plus clock skew, not 0.
      signingKeyOverlapSeconds: 900 + 60,
    });
    expect(fromEmpty.SIGNING_KEY_OVERLAP_SECONDS).toBeUndefined();
    expect(fromEmpty.BOOTSTRAP_ADMIN_PASSWORD).toBeUndefined();
  });

  it('a value that is there is still read as given (0 included, where allowed)', () => {
    const cfg = loadConfig({ PORT: '0', SIGNING_KEY_OVERLAP_SECONDS: '0', JWT_AUDIENCE: 'api://records' });
    expect(cfg).toMatchObject({ PORT: 0, signingKeyOverlapSeconds: 0, JWT_AUDIENCE: 'api://records' });
  });

  it.each([
    ['JWT_ISSUER', ' https://issuer.example'],
    ['JWT_AUDIENCE', 'charge-records\n'],
  ])('%s %j fails at start-up, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`Invalid configuration: ${name}: `));
  });

  it.each(['true', 'TRUE', 'True', '1', 'yes', 'YES', ' yes '])('DEBUG=%j is on', (value) => {
    expect(loadConfig({ DEBUG: value }).DEBUG).toBe(true);
  });

  it.each(['false', '0', 'no', 'off', '*', 'express:*'])('DEBUG=%j is off (and no start-up error)', (value) => {
    expect(loadConfig({ DEBUG: value }).DEBUG).toBe(false);
  });

  it.each([
    ['trace', 'TRACE'],
    ['debug', 'DEBUG'],
    ['Info', 'INFO'],
    ['WARN', 'WARN'],
    ['error', 'ERROR'],
    ['critical', 'CRITICAL'],
    ['silent', 'SILENT'],
  ])("LOG_LEVEL=%j is Powertools' %s", (value, level) => {
    expect(loadConfig({ LOG_LEVEL: value }).LOG_LEVEL).toBe(level);
  });

  it.each(['verbose', 'WARNING', 'info ', '10'])('LOG_LEVEL=%j fails at start-up, naming the variable', (value) => {
    expect(() => loadConfig({ LOG_LEVEL: value })).toThrow(/Invalid configuration: LOG_LEVEL: /);
  });

  it('a malformed number still fails at start-up, naming the variable', () => {
    expect(() => loadConfig({ SIGNING_KEY_OVERLAP_SECONDS: 'soon' })).toThrow(
      /Invalid configuration: SIGNING_KEY_OVERLAP_SECONDS: /,
    );
  });
});

describe('overlapWarning', () => {
  it('is silent at the default overlap (TTL + skew) and above, and says what breaks below it', () => {
    const cfg = loadConfig({ ACCESS_TOKEN_TTL_SECONDS: '900' });
    expect(overlapWarning(cfg)).toBeUndefined();
    expect(
      overlapWarning(loadConfig({ ACCESS_TOKEN_TTL_SECONDS: '900', SIGNING_KEY_OVERLAP_SECONDS: '5000' })),
    ).toBeUndefined();
    const short = overlapWarning(loadConfig({ ACCESS_TOKEN_TTL_SECONDS: '900', SIGNING_KEY_OVERLAP_SECONDS: '0' }));
    expect(short).toMatch(
      /SIGNING_KEY_OVERLAP_SECONDS=0 is shorter than .* \(960 s\): a key rotation will end the sessions/,
    );
  });
});

describe('whitespace-only values', () => {
  it('count as unset too: " " is not 0, nor an issuer or audience', () => {
    const cfg = loadConfig({
      SIGNING_KEY_OVERLAP_SECONDS: ' ',
      PORT: '\t',
      ACCESS_TOKEN_TTL_SECONDS: '900',
      JWT_ISSUER: ' ',
      JWT_AUDIENCE: '   ',
    });
    expect(cfg.signingKeyOverlapSeconds).toBe(960);
    expect(cfg.PORT).toBe(3000);
    expect(cfg.JWT_ISSUER).toBe('http://127.0.0.1:3000');
    expect(cfg.JWT_AUDIENCE).toBe(loadConfig({}).JWT_AUDIENCE);
  });
});

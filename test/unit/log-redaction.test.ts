import { describe, expect, it } from 'vitest';
import { LOG_REDACTED, redactLogValue, redactText } from '#platform/observability/log-redaction';

/** What the Logger does with a log item: JSON.stringify with the redaction as replacer. */
const serialise = (value: unknown) => JSON.parse(JSON.stringify(value, redactLogValue)) as unknown;

const JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1LTEiLCJ0eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJlLWJ5dGVz';

describe('log redaction', () => {
  it('masks secret-named keys at any depth, in objects and arrays', () => {
    // Act
    const out = serialise({
      password: 'p',
      nested: {
        refreshToken: 't',
        deeper: [{ accessToken: 'a', idToken: 'i', currentPassword: 'c', newPassword: 'n' }],
      },
      headers: {
        Authorization: 'x',
        cookie: 'c=1',
        'Set-Cookie': ['s=1'],
        'X-Amz-Security-Token': 'st',
        'x-api-key': 'k',
      },
      multiValueHeaders: { authorization: ['Bearer abc'] },
      clientSecret: 's',
      AWS_SECRET_ACCESS_KEY: 'aws',
      privateKey: { kty: 'RSA', d: 'private-exponent' },
    });
    // Assess
    expect(out).toEqual({
      password: LOG_REDACTED,
      nested: {
        refreshToken: LOG_REDACTED,
        deeper: [
          {
            accessToken: LOG_REDACTED,
            idToken: LOG_REDACTED,
            currentPassword: LOG_REDACTED,
            newPassword: LOG_REDACTED,
          },
        ],
      },
      headers: {
        Authorization: LOG_REDACTED,
        cookie: LOG_REDACTED,
        'Set-Cookie': LOG_REDACTED,
        'X-Amz-Security-Token': LOG_REDACTED,
        'x-api-key': LOG_REDACTED,
      },
      multiValueHeaders: { authorization: LOG_REDACTED },
      clientSecret: LOG_REDACTED,
      AWS_SECRET_ACCESS_KEY: LOG_REDACTED,
      privateKey: LOG_REDACTED,
    });
  });

  it('masks credentials inside other strings: bearer and basic values, JWTs, JSON and form fields', () => {
    expect(redactText(`Bearer ${JWT}`)).toBe(`Bearer ${LOG_REDACTED}`);
    expect(redactText('basic YWRtaW46aHVudGVyMg==')).toBe(`basic ${LOG_REDACTED}`);
    expect(redactText(`token was ${JWT} here`)).toBe(`token was ${LOG_REDACTED} here`);
    expect(redactText('{"username":"admin","password":"hunter2-hunter2","refreshToken":"r\\"x"}')).toBe(
      `{"username":"admin","password":"${LOG_REDACTED}","refreshToken":"${LOG_REDACTED}"}`,
    );
    expect(redactText('{"pin": 1234, "otpToken": 987654}')).toBe(`{"pin": 1234, "otpToken": "${LOG_REDACTED}"}`);
    expect(redactText('grant_type=password&username=a&password=hunter2&client_secret=s3')).toBe(
      `grant_type=password&username=a&password=${LOG_REDACTED}&client_secret=${LOG_REDACTED}`,
    );
    expect(serialise({ body: '{"password":"hunter2-hunter2"}', note: `Bearer ${JWT}` })).toEqual({
      body: `{"password":"${LOG_REDACTED}"}`,
      note: `Bearer ${LOG_REDACTED}`,
    });
  });

  it('leaves ordinary values alone, and flags under secret keys readable', () => {
    const item = {
      message: 'testSecret: probe token signed and verified',
      correlation_id: 'req-1',
      rotation_id: '7b0d4a63-5d1e-4a0e-9d3b-2b7c8a1f0e11',
      kid: 'Pq9xThumbprint',
      status: 401,
      passwordChanged: true,
      refreshToken: null,
      text: 'Bearer token missing; Basic auth is not supported',
    };
    expect(serialise(item)).toEqual(item);
  });
});

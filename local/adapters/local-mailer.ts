import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type MailMessage, type Mailer, oneLine } from '#reports/delivery/ports';
import { PRIVATE_FILE, privateDir } from '#local/private-files';

/** RFC 2047 encoded-word for a header value that is not plain ASCII. */
function encodeHeader(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/**
 * An RFC 5322 message with a UTF-8 text body, left readable (8bit: our lines are far below 998 octets).
 * Header values are one-lined here too: this writes raw headers, where a line break is header injection.
 */
export function toEml(message: MailMessage, from: string, date = new Date()): string {
  const id = `${randomUUID()}@charge-records.local`;
  const body = message.text.replace(/\r?\n/g, '\r\n');
  return [
    `From: ${oneLine(from)}`,
    `To: ${message.to.map(oneLine).join(', ')}`,
    `Subject: ${encodeHeader(oneLine(message.subject))}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${id}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    body,
    '',
  ].join('\r\n');
}

/** The local mail "server": one `.eml` file per message under `<stateDir>/outbox/`, openable in any mail client. */
export class LocalMailer implements Mailer {
  readonly outbox: string;

  constructor(
    stateDir: string,
    private readonly sender: string,
  ) {
    this.outbox = resolve(stateDir, 'outbox');
  }

  async send(message: MailMessage): Promise<void> {
    await privateDir(this.outbox);
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.eml`;
    await writeFile(join(this.outbox, name), toEml(message, this.sender), { mode: PRIVATE_FILE, flag: 'wx' });
  }
}

import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { MailMessage, Mailer } from '#reports/delivery/ports';
import { toEml } from '#reports/delivery/mime';
import { PRIVATE_FILE, privateDir } from '#local/private-files';

/** The message as the SES adapter sends it (one builder for both): see functions/reports/delivery/mime.ts. */
export { toEml };

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

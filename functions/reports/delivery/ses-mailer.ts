import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { toEml } from './mime';
import type { MailMessage, Mailer } from './ports';

/**
 * SES v2 from the one configured sender identity (the IAM policy allows no other), as a raw message built by
 * `toEml` — the same bytes the local outbox holds: the subject encoded in RFC 2047 words of at most 75 characters
 * and folded, `Auto-Submitted: auto-generated`. (SES's simple content would pass an ASCII subject through as it
 * is, and an encoded-word in a title would be decoded by the reader's client.)
 */
export class SesMailer implements Mailer {
  constructor(
    private readonly ses: SESv2Client,
    private readonly sender: string,
  ) {}

  async send(message: MailMessage): Promise<void> {
    const domain = this.sender.split('@')[1] ?? 'charge-records.local';
    await this.ses.send(
      new SendEmailCommand({
        FromEmailAddress: this.sender,
        Destination: { ToAddresses: [...message.to] },
        Content: { Raw: { Data: Buffer.from(toEml(message, this.sender, new Date(), domain), 'utf8') } },
      }),
    );
  }
}

import { SESv2Client } from '@aws-sdk/client-sesv2';
import { adapterSet } from '#platform/adapters';
import { config } from '#platform/config';
import type { Mailer } from '#reports/delivery/ports';
import { SesMailer } from '#reports/delivery/ses-mailer';

/**
 * Sign-in's mail (password reset links), through the same Mailer port and adapters as report delivery: SES from the
 * one configured sender in AWS, `.eml` files in the local outbox locally (installed by the local runtime).
 */
const mailers = adapterSet<Mailer>(
  () => new SesMailer(new SESv2Client({ region: config().AWS_REGION }), config().REPORTS_SENDER),
);

export const authMailer = mailers.get;
export const useAuthMailer = mailers.use;
export const resetAuthMailer = mailers.reset;

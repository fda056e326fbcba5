import * as z from 'zod';

/** Query of `POST /admin/keys/rotate`. */
export const RotateQuery = z.strictObject({
  /** Rotate even while the previous key's overlap window is open (cuts off its still-valid tokens). */
  force: z.enum(['true', 'false']).optional(),
});

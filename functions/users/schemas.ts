import { wellFormedString } from '#platform/well-formed';

/**
 * A display name, for `POST /users`, `PATCH /users/{id}` and `PATCH /users/me` alike: one line of well-formed text.
 * It is shown next to records and lands on the audit trail; a NUL or a line break there would split what a reader sees.
 */
export const DisplayName = wellFormedString()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[^\p{Cc}\u2028\u2029]*$/u, 'One line without control characters');

/**
 * Usernames are unique without regard to case: `Alice` and `alice` are the same account, the same lockout
 * counter and the same audit chain of failed logins.
 */
export const usernameKey = (username: string) => username.normalize('NFC').toLowerCase();

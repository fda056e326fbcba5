export interface paths {
  '/status/health': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Health
     * @description Version and uptime; calls no dependency. The probe for monitors.
     *
     *     Public: no token.
     */
    get: operations['getStatusHealth'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/status/health/liveness': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Liveness
     * @description Public: no token.
     */
    get: operations['getStatusHealthLiveness'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/status/health/readiness': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Readiness
     * @description DescribeTable on every table and a load of the signing key, each cut off after 2 s.
     *
     *     Public: no token.
     */
    get: operations['getStatusHealthReadiness'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/status/health/detailed': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Detailed health
     * @description Every own dependency (tables, signing key and secret, object store, mailer) and the configured external ones, with their messages. An own dependency down is 503; an external one only `degraded`. `system`: memory, CPU time, event-loop delay and uptime of the instance that answered (per instance, not the fleet).
     *
     *     Needs a token with `metrics:read`.
     */
    get: operations['getStatusHealthDetailed'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/metrics': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Prometheus metrics
     * @description Request counters and latencies, and the process metrics (CPU, memory, event-loop lag, GC) of the instance that answers — per instance, not the fleet — and data gauges counted from the tables.
     *
     *     Needs a token with `metrics:read`.
     */
    get: operations['getMetrics'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/openapi.json': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * This API described (OpenAPI 3.1)
     * @description The document this page and the typed client are generated from. Import it into Postman or Insomnia by this URL; its first server is the base URL it was fetched from.
     *
     *     Public: no token.
     */
    get: operations['getOpenapiJson'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/docs': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * API reference page
     * @description Every route, parameter, body and answer of this API, as one HTML page without scripts.
     *
     *     Public: no token.
     */
    get: operations['getDocs'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The console
     * @description Redirects a browser to the console at `/console/`, on the same origin as the API.
     *
     *     Public: no token.
     */
    get: operations['get'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/auth/login': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Sign in with username and password
     * @description A wrong username or password is 401 alike. Repeated failures lock the username for the source address, then the account (423 with `Retry-After`); too many attempts from one address are 429. With MFA on, the right password without `totp` — or with a wrong or used code — is 401 `MFA_REQUIRED` (a wrong code counts as a failure, a missing one does not). After an administrator reset the temporary password signs in once, and its tokens (claim `password_change_required`) reach only `POST /users/me/password`, `GET /users/me` and logout (403 `PASSWORD_CHANGE_REQUIRED` elsewhere).
     *
     *     Public: no token.
     *
     *     Errors of this route: `UNAUTHORIZED`, `MFA_REQUIRED`, `ACCOUNT_LOCKED`.
     */
    post: operations['postAuthLogin'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/auth/refresh': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Exchange a refresh token for new tokens
     * @description Each refresh token works once; reusing one revokes its whole session, and so does not refreshing for `SESSION_IDLE_SECONDS`. Without `refreshToken` the `cr_refresh` cookie is used — then only with the header `X-Requested-With: charge-records` (401 without it), and the new refresh token is set as the cookie again.
     *
     *     Public: no token.
     *
     *     Errors of this route: `UNAUTHORIZED`.
     */
    post: operations['postAuthRefresh'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/auth/logout': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Sign out
     * @description Revokes the caller's access token and its session, and the session of the refresh token when one is given (or of the `cr_refresh` cookie, which is cleared).
     *
     *     Needs a valid token.
     */
    post: operations['postAuthLogout'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users/me': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The caller
     * @description With the roles and permissions in effect for this token (an SSO user's come from the token).
     *
     *     Needs a valid token.
     */
    get: operations['getUsersMe'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    /**
     * Change the caller's display name or e-mail
     * @description Needs a valid token.
     *
     *     Errors of this route: `CONFLICT`.
     */
    patch: operations['patchUsersMe'];
    trace?: never;
  };
  '/users/me/password': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Change the caller's password
     * @description A wrong `currentPassword` is 403 and counts towards the login lockout (423); the new one must meet the password policy and differ from the last `PASSWORD_HISTORY` passwords (422). Other sessions end, this one stays. After an administrator reset, the temporary password is the `currentPassword`.
     *
     *     Needs a valid token.
     *
     *     Errors of this route: `FORBIDDEN`, `ACCOUNT_LOCKED`.
     */
    post: operations['postUsersMePassword'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users/me/mfa': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Start an MFA (TOTP) enrolment
     * @description A new shared secret for an authenticator app (RFC 6238: SHA-1, 6 digits, 30 s), shown only in this answer; MFA is on once `POST /users/me/mfa/confirm` confirms a code. Starting again replaces an unconfirmed secret. `CONFLICT` when MFA is already on, or for an SSO user (their identity provider asks).
     *
     *     Needs a valid token.
     *
     *     Errors of this route: `CONFLICT`.
     */
    post: operations['postUsersMeMfa'];
    /**
     * Turn MFA off
     * @description Needs the password and a current code (or a recovery code), checked as a login checks them: a wrong one is 403 and counts towards the lockout (423). `CONFLICT` when MFA is not on.
     *
     *     Needs a valid token.
     *
     *     Errors of this route: `FORBIDDEN`, `CONFLICT`, `ACCOUNT_LOCKED`.
     */
    delete: operations['deleteUsersMeMfa'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users/me/mfa/confirm': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Confirm the MFA enrolment with a code
     * @description A current code from the app for the pending secret turns MFA on: from now on login, signatures and MFA removal also need a code (`totp`). Answers ten recovery codes, each usable once in place of a code, shown only here. A wrong code is 422; no pending enrolment is `CONFLICT`.
     *
     *     Needs a valid token.
     *
     *     Errors of this route: `CONFLICT`.
     */
    post: operations['postUsersMeMfaConfirm'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/auth/password-reset/request': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Ask for a password reset link
     * @description Always 202, in the same time, whether or not the username exists: a local, enabled user with an e-mail address gets a link to the console (`/console/#/reset?token=…`) that works once within 30 minutes. Limited per source address like login (429).
     *
     *     Public: no token.
     */
    post: operations['postAuthPasswordResetRequest'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/auth/password-reset': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Set a new password with a reset link
     * @description The `token` of the e-mailed link, once, within 30 minutes (422 on `body.token` otherwise). The new password must meet the policy and differ from the last `PASSWORD_HISTORY` ones (422; the link stays usable). Every session of the user ends.
     *
     *     Public: no token.
     */
    post: operations['postAuthPasswordReset'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users/me/sessions': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The caller's sessions
     * @description Every live sign-in of the caller (not signed out, not idle, not past its absolute end).
     *
     *     Needs a valid token.
     */
    get: operations['getUsersMeSessions'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users/me/sessions/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /**
     * End one of the caller’s sessions
     * @description Its refresh token and access tokens stop working at once. Another user’s session is 404, as an unknown one.
     *
     *     Needs a valid token.
     */
    delete: operations['deleteUsersMeSessionsById'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/auth/sso/providers': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Identity providers to sign in with
     * @description The providers of `OIDC_PROVIDERS` that have a `clientId`: one button each on the sign-in page.
     *
     *     Public: no token.
     */
    get: operations['getAuthSsoProviders'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/auth/sso/{provider}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Start a sign-in at an identity provider
     * @description Redirects to the provider's authorization endpoint (authorization code with PKCE S256, `state`, `nonce`) and sets the short-lived cookie `cr_sso` that ties the sign-in to this browser. `purpose=sign` forces a fresh sign-in for an electronic signature.
     *
     *     Public: no token.
     *
     *     Errors of this route: `RATE_LIMITED`, `UNAVAILABLE`.
     */
    get: operations['getAuthSsoByProvider'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/auth/sso/callback': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Where the identity provider sends the browser back
     * @description Checks the state (once, and only from the browser that started the sign-in), exchanges the code and verifies the ID token. A sign-in starts a session (the `cr_refresh` cookie) and redirects to `/console/`; a signature sign-in leaves a one-time ticket for `POST /auth/sso/ticket` (cookie `cr_sso_ticket`) and redirects to `/console/#/signed`. A bad or replayed state, a wrong nonce or a refused ID token is 400, and nothing is created.
     *
     *     Public: no token.
     *
     *     Errors of this route: `FORBIDDEN`, `UNAVAILABLE`.
     */
    get: operations['getAuthSsoCallback'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/auth/sso/ticket': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Collect the signature ticket of a fresh SSO sign-in
     * @description Answers the one-time ticket the callback of `GET /auth/sso/{provider}?purpose=sign` left in the `cr_sso_ticket` cookie, once (the cookie is cleared). 404 when none is waiting or it expired.
     *
     *     Needs a valid token.
     *
     *     Errors of this route: `NOT_FOUND`.
     */
    post: operations['postAuthSsoTicket'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List users
     * @description Needs a token with `users:manage`.
     */
    get: operations['getUsers'];
    put?: never;
    /**
     * Create a local user
     * @description The password must meet the password policy (422); `reason` is required. A taken username is `CONFLICT` — also when a disabled user holds it: usernames are never reassigned (re-enable that user instead).
     *
     *     Needs a token with `users:manage`.
     *
     *     Errors of this route: `CONFLICT`.
     */
    post: operations['postUsers'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Read a user
     * @description Needs a token with `users:manage`.
     */
    get: operations['getUsersById'];
    put?: never;
    post?: never;
    /**
     * Disable a user
     * @description Users are disabled, never removed (their records stay, and their username is never given to anyone else); their tokens stop working. `reason` is required.
     *
     *     Needs a token with `users:manage`.
     *
     *     Errors of this route: `CONFLICT`.
     */
    delete: operations['deleteUsersById'];
    options?: never;
    head?: never;
    /**
     * Change a user
     * @description Roles, disabled, e-mail, display name, with a required `reason`. `CONFLICT` for the last enabled local admin, your own admin role or account, and an SSO user's roles.
     *
     *     Needs a token with `users:manage`.
     *
     *     Errors of this route: `CONFLICT`.
     */
    patch: operations['patchUsersById'];
    trace?: never;
  };
  '/users/{id}/password-reset': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Reset a user's password
     * @description Answers a temporary password, once. It signs in once, and that session can only set a new password (403 `PASSWORD_CHANGE_REQUIRED` elsewhere); every session of the user ends now. `CONFLICT` for an SSO user. `reason` is required.
     *
     *     Needs a token with `users:manage`.
     *
     *     Errors of this route: `CONFLICT`.
     */
    post: operations['postUsersByIdPasswordReset'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users/{id}/unlock': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Lift a user's login lockout
     * @description Needs a token with `users:manage`.
     */
    post: operations['postUsersByIdUnlock'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/users/{id}/revoke-tokens': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Revoke all of a user's tokens
     * @description Every session and access token issued so far stops working.
     *
     *     Needs a token with `users:manage`.
     */
    post: operations['postUsersByIdRevokeTokens'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/auth/token': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Get an access token for a service account (OAuth 2.0 client credentials)
     * @description RFC 6749 §4.4: `grant_type=client_credentials` as `application/x-www-form-urlencoded` (or the same fields as JSON), the client authenticated by HTTP Basic (`client_id:client_secret`) or by `client_id` and `client_secret` in the body. The token carries only the account's permissions and ends when its secret is rotated or the account deleted. Errors use the API's error shape: a wrong client is 401 (`invalid_client`), a malformed request 400/422, too many requests from one address 429.
     *
     *     Public: no token.
     *
     *     Errors of this route: `UNAUTHORIZED`, `BAD_REQUEST`, `VALIDATION_ERROR`, `UNSUPPORTED_MEDIA_TYPE`, `RATE_LIMITED`.
     */
    post: operations['postAuthToken'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/service-accounts': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List service accounts
     * @description Needs a token with `users:manage`.
     */
    get: operations['getServiceAccounts'];
    put?: never;
    /**
     * Create a service account
     * @description A machine identity with some of `metrics:read`, `charges:read`, `reports:read`. The client secret is in this answer only; the server keeps its hash.
     *
     *     Needs a token with `users:manage`.
     */
    post: operations['postServiceAccounts'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/service-accounts/{id}/rotate-secret': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Replace a service account's secret
     * @description The old secret stops working at once, and so does every token issued with it.
     *
     *     Needs a token with `users:manage`.
     */
    post: operations['postServiceAccountsByIdRotateSecret'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/service-accounts/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /**
     * Delete a service account
     * @description Its secret and every token it holds stop working at once; the record is kept.
     *
     *     Needs a token with `users:manage`.
     */
    delete: operations['deleteServiceAccountsById'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/.well-known/jwks.json': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Public keys that verify access tokens (JWKS)
     * @description Public: no token.
     */
    get: operations['getWellKnownJwksJson'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/.well-known/openid-configuration': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * OpenID discovery document
     * @description Public: no token.
     */
    get: operations['getWellKnownOpenidConfiguration'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/admin/keys/rotate': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Rotate the token signing key
     * @description Inside the previous key's overlap window this is `CONFLICT` with `Retry-After` (its tokens are still valid); `force=true` rotates anyway.
     *
     *     Needs a token with `keys:rotate`.
     *
     *     Errors of this route: `CONFLICT`.
     */
    post: operations['postAdminKeysRotate'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/charges': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List charges
     * @description Live charges, newest production date first, filtered by status, article and production date (`from`/`to`); `lotNumber` finds the one charge with that lot number (no second page).
     *
     *     Needs a token with `charges:read`.
     */
    get: operations['getCharges'];
    put?: never;
    /**
     * Create a charge
     * @description A new charge starts `in_production` unless `status` names another allowed start (`INVALID_TRANSITION` otherwise); `expiryDate` before `productionDate` is 422. `lotNumber` must be unique (`CONFLICT`); left out, the server assigns the next `<YYYY>-<NNNNN>` of the production year.
     *
     *     Needs a token with `charges:write`.
     *
     *     Errors of this route: `INVALID_TRANSITION`, `CONFLICT`.
     */
    post: operations['postCharges'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/charges/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Read a charge
     * @description Needs a token with `charges:read`.
     */
    get: operations['getChargesById'];
    put?: never;
    post?: never;
    /**
     * Delete a charge (soft)
     * @description Needs `If-Match` and a reason; the charge stays in its history and on the audit trail.
     *
     *     Needs a token with `charges:delete`.
     */
    delete: operations['deleteChargesById'];
    options?: never;
    head?: never;
    /**
     * Change a charge
     * @description Needs `If-Match` with the version read. A status change follows the lifecycle (`INVALID_TRANSITION`). A QA decision (to `released`, `rejected` or `blocked`) needs `charges:release`, a signer who neither created the charge nor changed its data (`SEGREGATION_OF_DUTIES`) and a `signature` whose meaning fits (`SIGNATURE_REQUIRED`, `SIGNATURE_INVALID`, 422 for the wrong meaning; repeated wrong credentials lock the account, `ACCOUNT_LOCKED`). The data of a decided charge cannot change, and a charge keeps at most 1 000 versions (`CONFLICT`).
     *
     *     Needs a token with `charges:write`.
     *
     *     Errors of this route: `CONFLICT`, `INVALID_TRANSITION`, `SEGREGATION_OF_DUTIES`, `SIGNATURE_REQUIRED`, `SIGNATURE_INVALID`, `ACCOUNT_LOCKED`.
     */
    patch: operations['patchChargesById'];
    trace?: never;
  };
  '/charges/{id}/history': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Version history of a charge
     * @description The versions, oldest first, a page of at most 100, with who, when, why, what changed and the signature made on each; deleted charges too.
     *
     *     Needs a token with `charges:read`.
     */
    get: operations['getChargesByIdHistory'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/charges/{id}/versions/{n}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * A charge as it was at one version
     * @description The whole charge as written in version `n`, its reason and the signature made on it.
     *
     *     Needs a token with `charges:read`.
     */
    get: operations['getChargesByIdVersionsByN'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/charges/{id}/reviews': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Sign a periodic review of a charge
     * @description A new version that changes no data, signed with meaning `reviewed`: in the history and on the audit trail. Any live charge, whatever its status.
     *
     *     Needs a token with `charges:review`.
     *
     *     Errors of this route: `CONFLICT`, `SIGNATURE_REQUIRED`, `SIGNATURE_INVALID`, `ACCOUNT_LOCKED`.
     */
    post: operations['postChargesByIdReviews'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/audit': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Search the audit trail
     * @description By entity (`entityType`, and `entityId` with it), actor, action and time (`from`/`to`: a date is the whole UTC day).
     *
     *     Needs a token with `audit:read`.
     */
    get: operations['getAudit'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/audit/verify': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Verify an entity's hash chain
     * @description Recomputes the chain from the stored records and names the first broken link.
     *
     *     Needs a token with `audit:read`.
     *
     *     Errors of this route: `NOT_FOUND`.
     */
    get: operations['getAuditVerify'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/audit/digests': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List the signed audit digests
     * @description Digests whose `until` lies in `from`…`to` (a date is the whole UTC day), oldest first.
     *
     *     Needs a token with `audit:read`.
     */
    get: operations['getAuditDigests'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/audit/digests/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * One signed audit digest
     * @description As stored in the Object Lock bucket: heads, Merkle root, previous digest hash and signature.
     *
     *     Needs a token with `audit:read`.
     *
     *     Errors of this route: `NOT_FOUND`.
     */
    get: operations['getAuditDigestsById'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/reports/audit.jsonl': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Export the audit trail for offline verification
     * @description One JSON line per record with every hashed field, `prevHash` and `hash`, after a header line naming the range; `npm run verify-audit` checks it against the signed digests with nothing but their public key.
     *
     *     Needs a token with `audit:read`.
     */
    get: operations['getReportsAuditJsonl'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/charges/{id}/report.pdf': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Chargenbericht (batch report) of one charge
     * @description The charge, its latest 200 versions (and how many earlier ones there are) and the electronic signatures made on it, as a PDF (`lang`: de or en; `timezone`: the IANA zone times are printed in). A deleted charge’s report, marked deleted, needs `audit:read`.
     *
     *     Needs a token with `reports:read`.
     */
    get: operations['getChargesByIdReportPdf'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/reports/charges.csv': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Export charges as CSV
     * @description Filtered like `GET /charges`; no row cap. `columns` picks and orders the fields; `includeDeleted=true` adds deleted charges, marked by their deletion time (needs `audit:read`).
     *
     *     Needs a token with `reports:read`.
     */
    get: operations['getReportsChargesCsv'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/reports/charges.xlsx': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Export charges as XLSX
     * @description Filtered like `GET /charges`; no row cap. `columns` picks and orders the fields; `includeDeleted=true` adds deleted charges, marked by their deletion time (needs `audit:read`).
     *
     *     Needs a token with `reports:read`.
     */
    get: operations['getReportsChargesXlsx'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/reports/charges.pdf': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Export charges as PDF
     * @description A PDF list holds at most 20 000 rows (`EXPORT_TOO_LARGE` names CSV and XLSX). `columns` picks and orders the fields; `includeDeleted=true` adds deleted charges, marked by their deletion time (needs `audit:read`).
     *
     *     Needs a token with `reports:read`.
     *
     *     Errors of this route: `EXPORT_TOO_LARGE`.
     */
    get: operations['getReportsChargesPdf'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/reports/audit.csv': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Export the audit trail as CSV
     * @description Needs `audit:read` as well.
     *
     *     Needs a token with `reports:read`.
     *
     *     Errors of this route: `FORBIDDEN`.
     */
    get: operations['getReportsAuditCsv'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/reports/audit.xlsx': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Export the audit trail as XLSX
     * @description Needs `audit:read` as well.
     *
     *     Needs a token with `reports:read`.
     *
     *     Errors of this route: `FORBIDDEN`.
     */
    get: operations['getReportsAuditXlsx'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/reports/runs': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List report runs
     * @description Newest first; `definitionId` narrows to one definition.
     *
     *     Needs a token with `reports:read`.
     */
    get: operations['getReportsRuns'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/reports/runs/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Read a report run
     * @description Needs a token with `reports:read`.
     */
    get: operations['getReportsRunsById'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/reports/runs/{id}/download': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Download a run's file
     * @description A run of an audit report also needs `audit:read`.
     *
     *     Needs a token with `reports:read`.
     *
     *     Errors of this route: `FORBIDDEN`.
     */
    get: operations['getReportsRunsByIdDownload'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/reports/definitions': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List report definitions
     * @description Needs a token with `reports:manage`.
     */
    get: operations['getReportsDefinitions'];
    put?: never;
    /**
     * Create a report definition
     * @description Columns, cron expression, time zone and filters are checked together (422); audit definitions need `audit:read`. A schedule fires the run and mails the link to each recipient on their own. A schedule fires at most once an hour; at most `REPORT_MAX_RECIPIENTS` recipients, in `REPORT_RECIPIENT_DOMAINS` when set (422). At most 100 definitions: past that, `CONFLICT` (409).
     *
     *     Needs a token with `reports:manage`.
     *
     *     Errors of this route: `FORBIDDEN`, `CONFLICT`.
     */
    post: operations['postReportsDefinitions'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/reports/definitions/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Read a report definition
     * @description Needs a token with `reports:manage`.
     */
    get: operations['getReportsDefinitionsById'];
    put?: never;
    post?: never;
    /**
     * Delete a report definition
     * @description Its schedule goes with it; its runs stay.
     *
     *     Needs a token with `reports:manage`.
     */
    delete: operations['deleteReportsDefinitionsById'];
    options?: never;
    head?: never;
    /**
     * Change a report definition
     * @description Checked as a whole after the change; a concurrent change is `CONFLICT`.
     *
     *     Needs a token with `reports:manage`.
     *
     *     Errors of this route: `FORBIDDEN`, `CONFLICT`.
     */
    patch: operations['patchReportsDefinitionsById'];
    trace?: never;
  };
  '/reports/definitions/{id}/run': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Run a report definition now
     * @description In this request, with the code the schedule uses; the answer is the recorded run, `failed` when the file could not be built. An audit definition needs `audit:read`.
     *
     *     Needs a token with `reports:manage`.
     *
     *     Errors of this route: `FORBIDDEN`.
     */
    post: operations['postReportsDefinitionsByIdRun'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/analytics/charges': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Charges counted or summed over time
     * @description Live (not deleted) charges by production date: `measure` count or quantity (quantity needs one unit: `unit=` or `groupBy=unit`, else 422), grouped by status, article or unit (series; `interval` adds a time axis) or by day, week or month (one series), filtered by status, article and unit. Every period of the range is a point, zero where nothing was produced. At most 400 days (`from`..`to`, both included) and at most 2 000 values (series × points) per answer; beyond, `VALIDATION_ERROR` (422) naming the parameter. Reads kept aggregates only: the cost depends on the buckets in the range, not on the number of charges.
     *
     *     Needs a token with `charges:read`.
     */
    get: operations['getAnalyticsCharges'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/analytics/qa': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * QA decisions, lead time and rejection rate over time
     * @description By decision day: `decisions` (series released, rejected, blocked), `lead_time` (series p50 and p90, in days from production date to the decision ending quarantine; null where none) or `rejection_rate` (rejected / (released + rejected), 0–1; null where none). At most 400 days (`from`..`to`, both included) and at most 2 000 values (series × points) per answer; beyond, `VALIDATION_ERROR` (422) naming the parameter. Reads kept aggregates only: the cost depends on the buckets in the range, not on the number of charges.
     *
     *     Needs a token with `charges:read`.
     */
    get: operations['getAnalyticsQa'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/dashboards': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List dashboards
     * @description The shared dashboards and the caller's own, shared first.
     *
     *     Needs a token with `charges:read`.
     */
    get: operations['getDashboards'];
    put?: never;
    /**
     * Create a dashboard
     * @description Owned by the caller; `shared: true` needs `reports:manage`. Each widget query is checked as its analytics route checks it (422). At most 20 dashboards per owner (`CONFLICT`).
     *
     *     Needs a token with `charges:read`.
     *
     *     Errors of this route: `FORBIDDEN`, `CONFLICT`.
     */
    post: operations['postDashboards'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/dashboards/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Read a dashboard
     * @description A shared dashboard or the caller's own; anyone else's is `NOT_FOUND`.
     *
     *     Needs a token with `charges:read`.
     */
    get: operations['getDashboardsById'];
    /**
     * Replace a dashboard
     * @description Title, sharing and widgets as a whole, with `If-Match`. The owner changes an own dashboard; a shared one, and sharing or unsharing, needs `reports:manage`.
     *
     *     Needs a token with `charges:read`.
     *
     *     Errors of this route: `FORBIDDEN`.
     */
    put: operations['putDashboardsById'];
    post?: never;
    /**
     * Delete a dashboard
     * @description With `If-Match`; an own dashboard by its owner, a shared one with `reports:manage`.
     *
     *     Needs a token with `charges:read`.
     *
     *     Errors of this route: `FORBIDDEN`.
     */
    delete: operations['deleteDashboardsById'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    /**
     * @example {
     *       "error": {
     *         "id": "9b1f0a6e-4c3d-4e2f-8a1b-2c3d4e5f6a7b",
     *         "code": "VALIDATION_ERROR",
     *         "message": "The request is not valid",
     *         "timestamp": "2026-05-02T10:00:00.000Z",
     *         "details": [
     *           {
     *             "path": "body.quantity",
     *             "code": "too_small",
     *             "message": "Too small: expected number to be >0"
     *           }
     *         ]
     *       }
     *     }
     */
    ApiError: {
      error: {
        /** @description The `error_id` of the log line (API Gateway's own answers: its request id). */
        id: string;
        /** @enum {string} */
        code:
          | 'BAD_REQUEST'
          | 'UNAUTHORIZED'
          | 'MFA_REQUIRED'
          | 'FORBIDDEN'
          | 'SEGREGATION_OF_DUTIES'
          | 'SIGNATURE_REQUIRED'
          | 'SIGNATURE_INVALID'
          | 'PASSWORD_CHANGE_REQUIRED'
          | 'MFA_ENROLMENT_REQUIRED'
          | 'NOT_FOUND'
          | 'METHOD_NOT_ALLOWED'
          | 'CONFLICT'
          | 'INVALID_TRANSITION'
          | 'PRECONDITION_FAILED'
          | 'PAYLOAD_TOO_LARGE'
          | 'UNSUPPORTED_MEDIA_TYPE'
          | 'VALIDATION_ERROR'
          | 'EXPORT_TOO_LARGE'
          | 'ACCOUNT_LOCKED'
          | 'PRECONDITION_REQUIRED'
          | 'RATE_LIMITED'
          | 'INTERNAL_ERROR'
          | 'UNAVAILABLE';
        message: string;
        /** @description ISO 8601 from a handler; API Gateway's own answers use its request time format. */
        timestamp: string;
        details?:
          | components['schemas']['FieldIssue'][]
          | {
              [key: string]: unknown;
            };
      };
    };
    ArticleId: string;
    AuditActor: {
      userId: string;
      username: string;
    };
    AuditDigest: {
      digestId: string;
      createdAt: string;
      since: string | null;
      until: string;
      previousDigestHash: string;
      heads: {
        entityType: string;
        entityId: string;
        seq: number;
        hash: string;
      }[];
      merkleRoot: string;
      keyId: string;
      /** @constant */
      algorithm: 'ECDSA_SHA_256';
      hash: string;
      signature: string;
    };
    AuditDigestList: {
      items: components['schemas']['AuditDigest'][];
    };
    AuditPage: {
      items: components['schemas']['AuditRecord'][];
      /** @description Opaque; valid only for the same query. */
      nextCursor: string | null;
    };
    /**
     * @example {
     *       "auditId": "3f0f6f5e-8d0b-4a57-9a53-4a8f3f0e2b11",
     *       "entityType": "charge",
     *       "entityId": "6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21",
     *       "seq": 2,
     *       "action": "update",
     *       "actor": {
     *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
     *         "username": "qa.lead"
     *       },
     *       "at": "2026-05-02T10:00:00.000Z",
     *       "requestId": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
     *       "reason": "Released after lab check",
     *       "version": 2,
     *       "changes": {
     *         "status": {
     *           "from": "quarantine",
     *           "to": "released"
     *         }
     *       },
     *       "prevHash": "5d41402abc4b2a76b9719d911017c592ae2f7e4b3f1c2d8a9b6e5f4c3d2e1f0a",
     *       "hash": "7c222fb2927d828af22f592134e8932480637c0d7a2c1e3f4b5a69788c9d0e1f"
     *     }
     */
    AuditRecord: {
      /** Format: uuid */
      auditId: string;
      entityType: string;
      entityId: string;
      seq: number;
      action: string;
      actor: components['schemas']['AuditActor'];
      /** Format: date-time */
      at: string;
      requestId: string | null;
      correlationId?: string;
      reason: string | null;
      version: number | null;
      changes: components['schemas']['FieldChanges'];
      prevHash: string;
      hash: string;
    };
    ChangePasswordBody: {
      currentPassword: string;
      newPassword: string;
    };
    /**
     * @example {
     *       "chargeId": "6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21",
     *       "lotNumber": "2026-00042",
     *       "articleId": "ART-1001",
     *       "quantity": 250.5,
     *       "unit": "kg",
     *       "productionDate": "2026-05-02",
     *       "expiryDate": "2027-05-02",
     *       "status": "in_production",
     *       "notes": "Line 3",
     *       "version": 1,
     *       "createdAt": "2026-05-02T10:00:00.000Z",
     *       "createdBy": {
     *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
     *         "username": "operator.1"
     *       },
     *       "updatedAt": "2026-05-02T10:00:00.000Z",
     *       "updatedBy": {
     *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
     *         "username": "operator.1"
     *       }
     *     }
     */
    Charge: {
      /** Format: uuid */
      chargeId: string;
      lotNumber?: string;
      articleId: string;
      quantity: number;
      /** @enum {string} */
      unit: 'kg' | 'g' | 't' | 'l' | 'ml' | 'pcs';
      /** Format: date */
      productionDate: string;
      /** Format: date */
      expiryDate?: string;
      /** @enum {string} */
      status: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
      notes?: string;
      version: number;
      /** Format: date-time */
      createdAt: string;
      createdBy: components['schemas']['AuditActor'];
      /** Format: date-time */
      updatedAt: string;
      updatedBy: components['schemas']['AuditActor'];
      /** Format: date-time */
      deletedAt?: string;
    };
    /**
     * @example {
     *       "chargeId": "6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21",
     *       "versions": [
     *         {
     *           "version": 1,
     *           "action": "create",
     *           "at": "2026-05-02T10:00:00.000Z",
     *           "actor": {
     *             "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
     *             "username": "operator.1"
     *           },
     *           "reason": null,
     *           "requestId": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
     *           "changes": {
     *             "articleId": {
     *               "from": null,
     *               "to": "ART-1001"
     *             },
     *             "status": {
     *               "from": null,
     *               "to": "in_production"
     *             }
     *           }
     *         }
     *       ],
     *       "nextCursor": null
     *     }
     */
    ChargeHistory: {
      chargeId: string;
      versions: components['schemas']['HistoryEntry'][];
      nextCursor: string | null;
    };
    ChargePage: {
      items: components['schemas']['Charge'][];
      /** @description Opaque; valid only for the same query. */
      nextCursor: string | null;
    };
    /**
     * @example {
     *       "status": "quarantine",
     *       "reason": "Waiting for the lab result"
     *     }
     * @example {
     *       "status": "released",
     *       "reason": "Lab result within specification",
     *       "signature": {
     *         "meaning": "approved_for_release",
     *         "password": "correct horse battery staple"
     *       }
     *     }
     */
    ChargePatch: {
      articleId?: string;
      quantity?: number;
      /** @enum {string} */
      unit?: 'kg' | 'g' | 't' | 'l' | 'ml' | 'pcs';
      /** Format: date */
      productionDate?: string;
      expiryDate?: string | null;
      /** @enum {string} */
      status?: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
      notes?: string | null;
      reason: string;
      /** @description Credentials given at the moment of signing, and what the signature means */
      signature?: {
        /** @enum {string} */
        meaning: 'approved_for_release' | 'rejected' | 'blocked' | 'reviewed';
        password?: string;
        totp?: string;
        ticket?: string;
      };
    };
    ChargeReview: {
      chargeId: string;
      version: number;
      comment: string | null;
      signature: components['schemas']['SignatureRecord'];
    };
    /**
     * @example {
     *       "measure": "count",
     *       "groupBy": "status",
     *       "interval": "week",
     *       "from": "P12W"
     *     }
     */
    ChargesQuery: {
      /**
       * @description count (default) or quantity; quantity needs one unit (`unit=` or `groupBy=unit`)
       * @enum {string}
       */
      measure?: 'count' | 'quantity';
      /**
       * @description Series per status, article or unit, or one series over days, weeks or months (default day)
       * @enum {string}
       */
      groupBy?: 'status' | 'article' | 'unit' | 'day' | 'week' | 'month';
      /**
       * @description With groupBy status, article or unit: points per day, week or month; without it, one point (the range total)
       * @enum {string}
       */
      interval?: 'day' | 'week' | 'month';
      from?: components['schemas']['RangeFrom'];
      to?: components['schemas']['RangeTo'];
      /** @enum {string} */
      status?: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
      articleId?: components['schemas']['ArticleId'];
      /** @enum {string} */
      unit?: 'kg' | 'g' | 't' | 'l' | 'ml' | 'pcs';
      /** @description With groupBy=article: how many articles are named (1–50, default 10); the rest is `other` */
      top?: string;
    };
    ChargeVersion: {
      /** Format: uuid */
      chargeId: string;
      lotNumber?: string;
      articleId: string;
      quantity: number;
      /** @enum {string} */
      unit: 'kg' | 'g' | 't' | 'l' | 'ml' | 'pcs';
      /** Format: date */
      productionDate: string;
      /** Format: date */
      expiryDate?: string;
      /** @enum {string} */
      status: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
      notes?: string;
      version: number;
      /** Format: date-time */
      createdAt: string;
      createdBy: components['schemas']['AuditActor'];
      /** Format: date-time */
      updatedAt: string;
      updatedBy: components['schemas']['AuditActor'];
      /** Format: date-time */
      deletedAt?: string;
      reason: string | null;
      signature?: components['schemas']['SignatureRecord'];
    };
    CheckResult: {
      /** @enum {string} */
      status: 'ok' | 'unhealthy';
      responseTimeMs: number;
      error?: string;
    };
    ClientTokenResponse: {
      /** @description A JWT (RS256) for `Authorization: Bearer …`. */
      access_token: string;
      /** @constant */
      token_type: 'Bearer';
      expires_in: number;
      /** @description The account's permissions, space-separated. */
      scope: string;
    };
    /**
     * @example {
     *       "totp": "287082"
     *     }
     */
    ConfirmMfaBody: {
      /** @description The current code of the authenticator app. */
      totp: string;
    };
    /**
     * @example {
     *       "name": "prometheus",
     *       "permissions": [
     *         "metrics:read"
     *       ],
     *       "reason": "Monitoring scrapes /metrics"
     *     }
     */
    CreateServiceAccountBody: {
      name: string;
      permissions: ('metrics:read' | 'charges:read' | 'reports:read')[];
      reason: string;
    };
    /**
     * @example {
     *       "username": "qa.lead",
     *       "password": "correct horse battery staple",
     *       "roles": [
     *         "quality_manager"
     *       ],
     *       "email": "qa.lead@example.com",
     *       "displayName": "QA Lead",
     *       "reason": "New QA lead, ticket HR-1042"
     *     }
     */
    CreateUserBody: {
      username: string;
      password: string;
      roles: ('admin' | 'quality_manager' | 'operator' | 'auditor' | 'viewer')[];
      /** Format: email */
      email?: string;
      displayName?: string;
      /** @description true: the password is an initial one that signs in once, and only to set a new password (the console sends true; the person chooses their own at the first sign-in) */
      passwordChangeRequired?: boolean;
      /** @description Why: 3–500 characters, kept on the audit record. */
      reason: string;
    };
    Dashboard: {
      id: string;
      title: string;
      owner: components['schemas']['AuditActor'];
      shared: boolean;
      widgets: components['schemas']['Widget'][];
      version: number;
      /** Format: date-time */
      createdAt: string;
      /** Format: date-time */
      updatedAt: string;
      updatedBy: components['schemas']['AuditActor'];
    };
    /**
     * @example {
     *       "title": "Line 3",
     *       "shared": false,
     *       "widgets": [
     *         {
     *           "id": "by-status",
     *           "title": "Charges by status",
     *           "type": "stacked_bar",
     *           "query": {
     *             "endpoint": "charges",
     *             "params": {
     *               "groupBy": "status",
     *               "interval": "week",
     *               "from": "P12W"
     *             }
     *           },
     *           "layout": {
     *             "x": 0,
     *             "y": 0,
     *             "w": 12,
     *             "h": 6
     *           }
     *         }
     *       ]
     *     }
     */
    DashboardInput: {
      title: string;
      shared?: boolean;
      widgets?: {
        id: string;
        title: string;
        /** @enum {string} */
        type: 'kpi' | 'line' | 'bar' | 'stacked_bar' | 'pie' | 'table';
        query:
          | {
              /** @constant */
              endpoint: 'charges';
              /**
               * @example {
               *       "measure": "count",
               *       "groupBy": "status",
               *       "interval": "week",
               *       "from": "P12W"
               *     }
               */
              params: {
                /**
                 * @description count (default) or quantity; quantity needs one unit (`unit=` or `groupBy=unit`)
                 * @enum {string}
                 */
                measure?: 'count' | 'quantity';
                /**
                 * @description Series per status, article or unit, or one series over days, weeks or months (default day)
                 * @enum {string}
                 */
                groupBy?: 'status' | 'article' | 'unit' | 'day' | 'week' | 'month';
                /**
                 * @description With groupBy status, article or unit: points per day, week or month; without it, one point (the range total)
                 * @enum {string}
                 */
                interval?: 'day' | 'week' | 'month';
                /** @description Start date, or a window back from `to` like `P30D`; default the 30 days up to `to` */
                from?: string;
                /**
                 * Format: date
                 * @description End date (included); default today (UTC)
                 */
                to?: string;
                /** @enum {string} */
                status?: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
                articleId?: string;
                /** @enum {string} */
                unit?: 'kg' | 'g' | 't' | 'l' | 'ml' | 'pcs';
                /** @description With groupBy=article: how many articles are named (1–50, default 10); the rest is `other` */
                top?: string;
              };
            }
          | {
              /** @constant */
              endpoint: 'qa';
              /**
               * @example {
               *       "measure": "rejection_rate",
               *       "groupBy": "week",
               *       "from": "P26W"
               *     }
               */
              params: {
                /**
                 * @description decisions (default: released, rejected, blocked), lead_time (p50 and p90 in days from production to the decision ending quarantine) or rejection_rate (rejected / (released + rejected))
                 * @enum {string}
                 */
                measure?: 'decisions' | 'lead_time' | 'rejection_rate';
                /**
                 * @description Points per day (default), week or month
                 * @enum {string}
                 */
                groupBy?: 'day' | 'week' | 'month';
                /** @description Start date, or a window back from `to` like `P30D`; default the 30 days up to `to` */
                from?: string;
                /**
                 * Format: date
                 * @description End date (included); default today (UTC)
                 */
                to?: string;
              };
            };
        layout: {
          x: number;
          y: number;
          w: number;
          h: number;
        };
      }[];
    };
    DashboardList: {
      items: components['schemas']['Dashboard'][];
    };
    DashboardTitle: string;
    DefinitionFilters: {
      /** @enum {string} */
      status?: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
      articleId?: components['schemas']['ArticleId'];
      from?: string;
      to?: string;
    };
    DefinitionPage: {
      items: components['schemas']['DefinitionView'][];
      /** @description Opaque; valid only for the same query. */
      nextCursor: string | null;
    };
    DefinitionPatch: {
      name?: string;
      title?: string;
      /** @enum {string} */
      kind?: 'charges' | 'audit';
      filters?: {
        /** @enum {string} */
        status?: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
        articleId?: string;
        from?: string;
        to?: string;
      };
      /** @description null: back to the default columns. */
      columns?: string[] | null;
      /** @enum {string} */
      format?: 'csv' | 'xlsx' | 'pdf';
      /** @enum {string} */
      lang?: 'de' | 'en';
      /** @description EventBridge cron with or without `cron(…)`; null: run on demand only. */
      schedule?: string | null;
      timezone?: string;
      recipients?: string[];
    };
    /**
     * @example {
     *       "definitionId": "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
     *       "name": "weekly-released",
     *       "title": "Released charges, last 7 days",
     *       "kind": "charges",
     *       "filters": {
     *         "status": "released",
     *         "from": "P7D"
     *       },
     *       "columns": null,
     *       "format": "xlsx",
     *       "lang": "en",
     *       "schedule": "0 6 ? * MON *",
     *       "timezone": "Europe/Berlin",
     *       "recipients": [
     *         "qa@example.com"
     *       ],
     *       "version": 1,
     *       "createdAt": "2026-05-02T10:00:00.000Z",
     *       "createdBy": {
     *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
     *         "username": "qa.lead"
     *       },
     *       "updatedAt": "2026-05-02T10:00:00.000Z",
     *       "updatedBy": {
     *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
     *         "username": "qa.lead"
     *       },
     *       "nextRuns": [
     *         "2026-05-04T04:00:00.000Z",
     *         "2026-05-11T04:00:00.000Z",
     *         "2026-05-18T04:00:00.000Z"
     *       ]
     *     }
     */
    DefinitionView: {
      /** Format: uuid */
      definitionId: string;
      name: string;
      title: string;
      /** @enum {string} */
      kind: 'charges' | 'audit';
      filters: components['schemas']['DefinitionFilters'];
      /** @description null: the default columns of the kind and format. */
      columns: string[] | null;
      /** @enum {string} */
      format: 'csv' | 'xlsx' | 'pdf';
      /** @enum {string} */
      lang: 'de' | 'en';
      /** @description The EventBridge cron expression (6 fields), or null for on-demand only. */
      schedule: string | null;
      timezone: string;
      recipients: string[];
      version: number;
      /** Format: date-time */
      createdAt: string;
      createdBy: components['schemas']['AuditActor'];
      /** Format: date-time */
      updatedAt: string;
      updatedBy: components['schemas']['AuditActor'];
      /** @description The next three fire times (ISO), when scheduled. */
      nextRuns: string[];
    };
    /**
     * @example {
     *       "reason": "Entered twice by mistake"
     *     }
     */
    DeleteCharge: {
      reason: string;
    };
    /**
     * @example {
     *       "status": "healthy",
     *       "version": "0.1.0",
     *       "commit": "unknown",
     *       "uptime": 42,
     *       "timestamp": "2026-05-02T10:00:00.000Z",
     *       "checks": {
     *         "table:charges": {
     *           "status": "ok",
     *           "responseTimeMs": 12
     *         }
     *       },
     *       "external": {},
     *       "signingKey": {
     *         "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
     *         "ageSeconds": 3600,
     *         "nextRotation": "2026-06-01T09:00:00.000Z"
     *       },
     *       "system": {
     *         "scope": "instance",
     *         "uptimeSeconds": 42,
     *         "memory": {
     *           "rssBytes": 98000000,
     *           "heapUsedBytes": 41000000,
     *           "heapTotalBytes": 52000000,
     *           "externalBytes": 3000000
     *         },
     *         "cpu": {
     *           "userSeconds": 1.42,
     *           "systemSeconds": 0.21
     *         },
     *         "eventLoopDelayMs": {
     *           "mean": 20.4,
     *           "p99": 22.1,
     *           "max": 35.7
     *         }
     *       }
     *     }
     */
    DetailedHealth: {
      /**
       * @description `unhealthy` (an own dependency is down) answers 503; `degraded` (an external one is) 200.
       * @enum {string}
       */
      status: 'healthy' | 'degraded' | 'unhealthy';
      version: string;
      commit: string;
      uptime: number;
      /** Format: date-time */
      timestamp: string;
      checks: {
        [key: string]: components['schemas']['CheckResult'];
      };
      external: {
        [key: string]: components['schemas']['CheckResult'];
      };
      signingKey: {
        kid: string | null;
        ageSeconds: number | null;
        nextRotation: string | null;
      };
      system: {
        /** @constant */
        scope: 'instance';
        uptimeSeconds: number;
        memory: {
          rssBytes: number;
          heapUsedBytes: number;
          heapTotalBytes: number;
          externalBytes: number;
        };
        cpu: {
          userSeconds: number;
          systemSeconds: number;
        };
        eventLoopDelayMs: {
          mean: number;
          p99: number;
          max: number;
        };
      };
    };
    DetailedHealthUnavailable: {
      error: {
        /** @description The `error_id` of the log line (API Gateway's own answers: its request id). */
        id: string;
        /** @enum {string} */
        code:
          | 'BAD_REQUEST'
          | 'UNAUTHORIZED'
          | 'MFA_REQUIRED'
          | 'FORBIDDEN'
          | 'SEGREGATION_OF_DUTIES'
          | 'SIGNATURE_REQUIRED'
          | 'SIGNATURE_INVALID'
          | 'PASSWORD_CHANGE_REQUIRED'
          | 'MFA_ENROLMENT_REQUIRED'
          | 'NOT_FOUND'
          | 'METHOD_NOT_ALLOWED'
          | 'CONFLICT'
          | 'INVALID_TRANSITION'
          | 'PRECONDITION_FAILED'
          | 'PAYLOAD_TOO_LARGE'
          | 'UNSUPPORTED_MEDIA_TYPE'
          | 'VALIDATION_ERROR'
          | 'EXPORT_TOO_LARGE'
          | 'ACCOUNT_LOCKED'
          | 'PRECONDITION_REQUIRED'
          | 'RATE_LIMITED'
          | 'INTERNAL_ERROR'
          | 'UNAVAILABLE';
        message: string;
        /** @description ISO 8601 from a handler; API Gateway's own answers use its request time format. */
        timestamp: string;
        details?:
          | components['schemas']['FieldIssue'][]
          | {
              [key: string]: unknown;
            };
      };
      /**
       * @description `unhealthy` (an own dependency is down) answers 503; `degraded` (an external one is) 200.
       * @enum {string}
       */
      status?: 'healthy' | 'degraded' | 'unhealthy';
      version?: string;
      commit?: string;
      uptime?: number;
      /** Format: date-time */
      timestamp?: string;
      checks?: {
        [key: string]: components['schemas']['CheckResult'];
      };
      external?: {
        [key: string]: components['schemas']['CheckResult'];
      };
      signingKey?: {
        kid: string | null;
        ageSeconds: number | null;
        nextRotation: string | null;
      };
      system?: {
        /** @constant */
        scope: 'instance';
        uptimeSeconds: number;
        memory: {
          rssBytes: number;
          heapUsedBytes: number;
          heapTotalBytes: number;
          externalBytes: number;
        };
        cpu: {
          userSeconds: number;
          systemSeconds: number;
        };
        eventLoopDelayMs: {
          mean: number;
          p99: number;
          max: number;
        };
      };
    };
    /** @enum {string} */
    FailureReason: 'timeout' | 'unreachable' | 'error';
    FieldChanges: {
      [key: string]: {
        /** @description Any JSON value */
        from: unknown;
        /** @description Any JSON value */
        to: unknown;
      };
    };
    FieldIssue: {
      path: string;
      code: string;
      message: string;
      keys?: string[];
    };
    /**
     * @example {
     *       "status": "ok",
     *       "version": "0.1.0",
     *       "uptime": 42,
     *       "timestamp": "2026-05-02T10:00:00.000Z"
     *     }
     */
    Health: {
      /** @constant */
      status: 'ok';
      version: string;
      /** @description Seconds since this instance started. */
      uptime: number;
      /** Format: date-time */
      timestamp: string;
    };
    HistoryEntry: {
      version: number;
      /** @enum {string} */
      action: 'create' | 'update' | 'delete' | 'review';
      /** Format: date-time */
      at: string;
      actor: components['schemas']['AuditActor'];
      reason: string | null;
      requestId: string;
      changes: components['schemas']['FieldChanges'];
      signature?: components['schemas']['SignatureRecord'];
    };
    /** Format: date */
    IsoDate: string;
    /**
     * @example {
     *       "keys": [
     *         {
     *           "kty": "RSA",
     *           "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
     *           "alg": "RS256",
     *           "use": "sig",
     *           "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
     *           "e": "AQAB"
     *         }
     *       ]
     *     }
     */
    Jwks: {
      keys: components['schemas']['PublicJwk'][];
    };
    Liveness: {
      /** @constant */
      status: 'alive';
    };
    /**
     * @example {
     *       "username": "admin",
     *       "password": "correct horse battery staple"
     *     }
     */
    LoginBody: {
      username: string;
      password: string;
      /** @description The current code of the authenticator app, or a recovery code: required once MFA is enrolled. */
      totp?: string;
      /**
       * @description `cookie` (the console): the refresh token is set as the HttpOnly cookie `cr_refresh` (Path `/auth`) instead of being returned; `body` (default): it is in the answer.
       * @enum {string}
       */
      session?: 'body' | 'cookie';
    };
    LogoutBody: {
      refreshToken?: string;
    };
    Me: {
      /** Format: uuid */
      userId: string;
      username: string;
      /** @description The stored roles: always empty for an SSO user, whose roles are the token's (`rolesFrom`). */
      roles: ('admin' | 'quality_manager' | 'operator' | 'auditor' | 'viewer')[];
      /** @enum {string} */
      rolesFrom: 'local' | 'identity-provider';
      disabled: boolean;
      /** @description `local`, or `oidc:<issuer>` for a user created on first sight of an external token. */
      source: string;
      email?: string;
      displayName?: string;
      version: number;
      /** Format: date-time */
      createdAt: string;
      /** @description The id of the user who created this one (`system` for the bootstrap admin). */
      createdBy: string;
      /** Format: date-time */
      updatedAt: string;
      updatedBy: string;
      permissions: (
        | 'charges:read'
        | 'charges:write'
        | 'charges:release'
        | 'charges:review'
        | 'charges:delete'
        | 'audit:read'
        | 'reports:read'
        | 'reports:manage'
        | 'users:manage'
        | 'keys:rotate'
        | 'metrics:read'
      )[];
    };
    /**
     * @example {
     *       "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
     *       "otpauthUri": "otpauth://totp/Charge%20Records:qa.lead?issuer=Charge%20Records&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30"
     *     }
     */
    MfaEnrolment: {
      /** @description The shared secret, base32: shown this once, for typing into an authenticator app. */
      secret: string;
      /** @description The same as an `otpauth://totp/…` URI (SHA1, 6 digits, 30 s), for a QR code. */
      otpauthUri: string;
    };
    /**
     * @example {
     *       "articleId": "ART-1001",
     *       "quantity": 250.5,
     *       "unit": "kg",
     *       "productionDate": "2026-05-02",
     *       "expiryDate": "2027-05-02"
     *     }
     */
    NewCharge: {
      /**
       * @description Lot number (Chargennummer): 1–40 of `A–Z a–z 0–9 - _ / .`
       * @example 2026-00042
       */
      lotNumber?: string;
      articleId: string;
      quantity: number;
      /** @enum {string} */
      unit: 'kg' | 'g' | 't' | 'l' | 'ml' | 'pcs';
      /** Format: date */
      productionDate: string;
      /** Format: date */
      expiryDate?: string;
      /** @enum {string} */
      status?: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
      notes?: string;
    };
    /**
     * @example {
     *       "name": "weekly-released",
     *       "title": "Released charges, last 7 days",
     *       "kind": "charges",
     *       "filters": {
     *         "status": "released",
     *         "from": "P7D"
     *       },
     *       "format": "xlsx",
     *       "lang": "en",
     *       "schedule": "cron(0 6 ? * MON *)",
     *       "timezone": "Europe/Berlin",
     *       "recipients": [
     *         "qa@example.com"
     *       ]
     *     }
     */
    NewDefinition: {
      name: string;
      title: string;
      /** @enum {string} */
      kind: 'charges' | 'audit';
      /** @default {} */
      filters: {
        /** @enum {string} */
        status?: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
        articleId?: string;
        from?: string;
        to?: string;
      };
      columns?: string[];
      /** @enum {string} */
      format: 'csv' | 'xlsx' | 'pdf';
      /**
       * @default de
       * @enum {string}
       */
      lang: 'de' | 'en';
      /** @description EventBridge cron with or without `cron(…)`; null: run on demand only. */
      schedule?: string | null;
      /** @default UTC */
      timezone: string;
      /** @default [] */
      recipients: string[];
    };
    NotReady: {
      error: {
        /** @description The `error_id` of the log line (API Gateway's own answers: its request id). */
        id: string;
        /** @enum {string} */
        code:
          | 'BAD_REQUEST'
          | 'UNAUTHORIZED'
          | 'MFA_REQUIRED'
          | 'FORBIDDEN'
          | 'SEGREGATION_OF_DUTIES'
          | 'SIGNATURE_REQUIRED'
          | 'SIGNATURE_INVALID'
          | 'PASSWORD_CHANGE_REQUIRED'
          | 'MFA_ENROLMENT_REQUIRED'
          | 'NOT_FOUND'
          | 'METHOD_NOT_ALLOWED'
          | 'CONFLICT'
          | 'INVALID_TRANSITION'
          | 'PRECONDITION_FAILED'
          | 'PAYLOAD_TOO_LARGE'
          | 'UNSUPPORTED_MEDIA_TYPE'
          | 'VALIDATION_ERROR'
          | 'EXPORT_TOO_LARGE'
          | 'ACCOUNT_LOCKED'
          | 'PRECONDITION_REQUIRED'
          | 'RATE_LIMITED'
          | 'INTERNAL_ERROR'
          | 'UNAVAILABLE';
        message: string;
        /** @description ISO 8601 from a handler; API Gateway's own answers use its request time format. */
        timestamp: string;
        details?:
          | components['schemas']['FieldIssue'][]
          | {
              [key: string]: unknown;
            };
      };
      /** @constant */
      status?: 'not_ready';
      checks?: {
        [key: string]: components['schemas']['PublicCheckResult'];
      };
    };
    OpenApiDocumentBody: {
      openapi: string;
      info: {
        title: string;
        version: string;
      } & {
        [key: string]: unknown;
      };
      servers: ({
        url: string;
      } & {
        [key: string]: unknown;
      })[];
      paths: {
        [key: string]: unknown;
      };
    } & {
      [key: string]: unknown;
    };
    OpenIdConfiguration: {
      issuer: string;
      /** Format: uri */
      jwks_uri: string;
      /** Format: uri */
      token_endpoint: string;
      grant_types_supported: string[];
      response_types_supported: string[];
      subject_types_supported: string[];
      id_token_signing_alg_values_supported: string[];
      token_endpoint_auth_signing_alg_values_supported: string[];
      token_endpoint_auth_methods_supported: string[];
      claims_supported: string[];
    };
    /**
     * @example {
     *       "token": "q0Fh3o0qWcS3l1w8cS2bX3m0V5d1Y7n9Q2r4T6u8W0z",
     *       "newPassword": "a new long passphrase"
     *     }
     */
    PasswordResetBody: {
      /** @description The `token` of the e-mailed link. */
      token: string;
      newPassword: string;
    };
    /**
     * @example {
     *       "username": "qa.lead"
     *     }
     */
    PasswordResetRequestBody: {
      username: string;
    };
    PatchMeBody: {
      displayName?: string;
      /** Format: email */
      email?: string;
    };
    /**
     * @example {
     *       "roles": [
     *         "quality_manager",
     *         "auditor"
     *       ],
     *       "reason": "Takes over the periodic reviews"
     *     }
     */
    PatchUserBody: {
      roles?: ('admin' | 'quality_manager' | 'operator' | 'auditor' | 'viewer')[];
      disabled?: boolean;
      /** Format: email */
      email?: string;
      displayName?: string;
      /** @description Why: 3–500 characters, kept on the audit record. */
      reason: string;
    };
    Point: {
      /** Format: date */
      t: string;
      value: number | null;
    };
    PublicCheckResult: {
      /** @enum {string} */
      status: 'ok' | 'unhealthy';
      responseTimeMs: number;
      reason?: components['schemas']['FailureReason'];
    };
    PublicJwk: {
      /** @constant */
      kty: 'RSA';
      kid: string;
      /** @constant */
      alg: 'RS256';
      /** @constant */
      use: 'sig';
      n: string;
      e: string;
    };
    /**
     * @example {
     *       "runId": "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
     *       "definitionId": "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
     *       "definitionName": "weekly-released",
     *       "kind": "charges",
     *       "trigger": "manual",
     *       "requestedBy": {
     *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
     *         "username": "qa.lead"
     *       },
     *       "status": "succeeded",
     *       "startedAt": "2026-05-02T10:00:00.000Z",
     *       "finishedAt": "2026-05-02T10:00:01.200Z",
     *       "rows": 42,
     *       "bytes": 8192,
     *       "error": null,
     *       "attempts": 1,
     *       "format": "xlsx",
     *       "filename": "weekly-released-2026-05-02.xlsx",
     *       "contentType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     *       "deliveredTo": [
     *         "qa@example.com"
     *       ]
     *     }
     */
    PublicRun: {
      /** Format: uuid */
      runId: string;
      /** Format: uuid */
      definitionId: string;
      definitionName: string;
      /**
       * @description The definition's report kind, kept so that access to the file does not depend on the definition existing.
       * @enum {string}
       */
      kind: 'charges' | 'audit';
      /** @enum {string} */
      trigger: 'schedule' | 'manual';
      requestedBy: components['schemas']['AuditActor'] | null;
      /** @enum {string} */
      status: 'running' | 'succeeded' | 'failed';
      /** Format: date-time */
      startedAt: string;
      finishedAt: string | null;
      rows: number | null;
      bytes: number | null;
      error: string | null;
      attempts: number;
      /** @enum {string} */
      format: 'csv' | 'xlsx' | 'pdf';
      filename: string | null;
      contentType: string | null;
      /** @description Recipients the link was mailed to. */
      deliveredTo: string[];
    };
    PublicServiceAccount: {
      /** @description Also the OAuth `client_id`. */
      serviceAccountId: string;
      clientId: string;
      name: string;
      permissions: components['schemas']['ServiceAccountPermission'][];
      createdAt: string;
      createdBy: components['schemas']['ServiceAccountActor'];
      secretRotatedAt: string;
    };
    /**
     * @example {
     *       "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
     *       "username": "qa.lead",
     *       "roles": [
     *         "quality_manager"
     *       ],
     *       "rolesFrom": "local",
     *       "disabled": false,
     *       "source": "local",
     *       "email": "qa.lead@example.com",
     *       "displayName": "QA Lead",
     *       "version": 1,
     *       "createdAt": "2026-05-02T10:00:00.000Z",
     *       "createdBy": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
     *       "updatedAt": "2026-05-02T10:00:00.000Z",
     *       "updatedBy": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
     *     }
     */
    PublicUser: {
      /** Format: uuid */
      userId: string;
      username: string;
      /** @description The stored roles: always empty for an SSO user, whose roles are the token's (`rolesFrom`). */
      roles: ('admin' | 'quality_manager' | 'operator' | 'auditor' | 'viewer')[];
      /** @enum {string} */
      rolesFrom: 'local' | 'identity-provider';
      disabled: boolean;
      /** @description `local`, or `oidc:<issuer>` for a user created on first sight of an external token. */
      source: string;
      email?: string;
      displayName?: string;
      version: number;
      /** Format: date-time */
      createdAt: string;
      /** @description The id of the user who created this one (`system` for the bootstrap admin). */
      createdBy: string;
      /** Format: date-time */
      updatedAt: string;
      updatedBy: string;
    };
    /**
     * @example {
     *       "measure": "rejection_rate",
     *       "groupBy": "week",
     *       "from": "P26W"
     *     }
     */
    QaQuery: {
      /**
       * @description decisions (default: released, rejected, blocked), lead_time (p50 and p90 in days from production to the decision ending quarantine) or rejection_rate (rejected / (released + rejected))
       * @enum {string}
       */
      measure?: 'decisions' | 'lead_time' | 'rejection_rate';
      /**
       * @description Points per day (default), week or month
       * @enum {string}
       */
      groupBy?: 'day' | 'week' | 'month';
      from?: components['schemas']['RangeFrom'];
      to?: components['schemas']['RangeTo'];
    };
    /** @description Start date, or a window back from `to` like `P30D`; default the 30 days up to `to` */
    RangeFrom: string;
    /** @description End date (included); default today (UTC) */
    RangeTo: components['schemas']['IsoDate'];
    /**
     * @example {
     *       "status": "ready",
     *       "checks": {
     *         "table:charges": {
     *           "status": "ok",
     *           "responseTimeMs": 12
     *         }
     *       }
     *     }
     */
    Readiness: {
      /** @constant */
      status: 'ready';
      checks: {
        [key: string]: components['schemas']['PublicCheckResult'];
      };
    };
    /**
     * @example {
     *       "reason": "Left the company, ticket HR-1077"
     *     }
     */
    ReasonBody: {
      /** @description Why: 3–500 characters, kept on the audit record. */
      reason: string;
    };
    /**
     * @example {
     *       "recoveryCodes": [
     *         "k7pd-m3xq-9tza-hw2e",
     *         "c4rn-v8bs-2kqf-yj6m",
     *         "u5ht-q9wc-3npx-7gad",
     *         "e2mz-r6kv-8bjt-4syq",
     *         "w3fa-n7hx-5cpu-9dkm",
     *         "p8qs-z2ge-6tvr-3mjw",
     *         "h4ky-c9dn-7rzb-2xqe",
     *         "a6vm-t3pj-8wsh-5ncu",
     *         "r9xe-k2qa-4mzd-7gtv",
     *         "s5cw-h8yt-3bpk-6rfn"
     *       ]
     *     }
     */
    RecoveryCodes: {
      /** @description Ten one-time codes, each usable once wherever a `totp` is asked for: shown this once. */
      recoveryCodes: string[];
    };
    /**
     * @example {
     *       "refreshToken": "rt_4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f"
     *     }
     */
    RefreshBody: {
      /** @description Left out: the `cr_refresh` cookie is used, and the header `X-Requested-With: charge-records` is required. */
      refreshToken?: string;
    };
    /**
     * @example {
     *       "password": "correct horse battery staple",
     *       "totp": "287082"
     *     }
     */
    RemoveMfaBody: {
      password: string;
      /** @description A current code, or a recovery code. */
      totp: string;
    };
    /**
     * @example {
     *       "signature": {
     *         "meaning": "reviewed",
     *         "password": "correct horse battery staple"
     *       },
     *       "comment": "Annual review"
     *     }
     */
    ReviewBody: {
      /** @description Credentials given at the moment of signing, and what the signature means */
      signature: {
        /** @enum {string} */
        meaning: 'approved_for_release' | 'rejected' | 'blocked' | 'reviewed';
        password?: string;
        totp?: string;
        ticket?: string;
      };
      comment?: string;
    };
    /**
     * @example {
     *       "status": "rotation-started",
     *       "rotationId": "2d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a"
     *     }
     */
    RotationAccepted: {
      /** @enum {string} */
      status: 'rotated' | 'rotation-started';
      /** Format: uuid */
      rotationId: string;
      kid?: string;
    };
    RunPage: {
      items: components['schemas']['PublicRun'][];
      /** @description Opaque; valid only for the same query. */
      nextCursor: string | null;
    };
    /**
     * @example {
     *       "result": {
     *         "measure": "count",
     *         "groupBy": "status",
     *         "interval": "week",
     *         "from": "2026-05-04",
     *         "to": "2026-05-17",
     *         "unit": null
     *       },
     *       "series": [
     *         {
     *           "key": "released",
     *           "points": [
     *             {
     *               "t": "2026-05-04",
     *               "value": 12
     *             },
     *             {
     *               "t": "2026-05-11",
     *               "value": 9
     *             }
     *           ]
     *         },
     *         {
     *           "key": "quarantine",
     *           "points": [
     *             {
     *               "t": "2026-05-04",
     *               "value": 3
     *             },
     *             {
     *               "t": "2026-05-11",
     *               "value": 5
     *             }
     *           ]
     *         }
     *       ]
     *     }
     */
    Series: {
      result: {
        measure: string;
        groupBy: string;
        interval: ('day' | 'week' | 'month') | null;
        /** Format: date */
        from: string;
        /** Format: date */
        to: string;
        unit: ('kg' | 'g' | 't' | 'l' | 'ml' | 'pcs') | null;
      };
      series: {
        key: string;
        points: components['schemas']['Point'][];
      }[];
    };
    ServiceAccountActor: {
      userId: string;
      username: string;
    };
    ServiceAccountCredentials: {
      /** @description Also the OAuth `client_id`. */
      serviceAccountId: string;
      clientId: string;
      name: string;
      permissions: components['schemas']['ServiceAccountPermission'][];
      createdAt: string;
      createdBy: components['schemas']['ServiceAccountActor'];
      secretRotatedAt: string;
      /** @description Shown this once; only its hash is stored. */
      clientSecret: string;
    };
    ServiceAccountList: {
      items: components['schemas']['PublicServiceAccount'][];
    };
    /** @enum {string} */
    ServiceAccountPermission: 'metrics:read' | 'charges:read' | 'reports:read';
    /**
     * @example {
     *       "reason": "Scraper moved to the new monitoring cluster"
     *     }
     */
    ServiceAccountReasonBody: {
      reason: string;
    };
    /**
     * @example {
     *       "items": [
     *         {
     *           "id": "3f0c6a52-8d1e-4b7a-9c2f-5e4d3c2b1a09",
     *           "createdAt": "2026-05-02T08:00:00.000Z",
     *           "lastUsedAt": "2026-05-02T08:14:00.000Z",
     *           "expiresAt": "2026-05-09T08:00:00.000Z",
     *           "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
     *           "sourceIp": "203.0.113.7",
     *           "current": true
     *         }
     *       ]
     *     }
     */
    SessionList: {
      /** @description Newest first; at most 100. */
      items: components['schemas']['SessionView'][];
    };
    SessionView: {
      /**
       * Format: uuid
       * @description Names the session for `DELETE /users/me/sessions/{id}`.
       */
      id: string;
      /**
       * Format: date-time
       * @description Sign-in time.
       */
      createdAt: string;
      /**
       * Format: date-time
       * @description Sign-in or last refresh; idle for `SESSION_IDLE_SECONDS` ends it.
       */
      lastUsedAt: string;
      /**
       * Format: date-time
       * @description The absolute end, however active the session is.
       */
      expiresAt: string;
      /** @description The browser or client that signed in, as it named itself. */
      userAgent?: string;
      /** @description The address it signed in from. */
      sourceIp?: string;
      /** @description Whether this is the session of the token making the request. */
      current: boolean;
    };
    /** @description An electronic signature, bound to the version it signs by `versionHash` */
    SignatureRecord: {
      signer: {
        userId: string;
        username: string;
        displayName: string | null;
      };
      /** @enum {string} */
      meaning: 'approved_for_release' | 'rejected' | 'blocked' | 'reviewed';
      /** Format: date-time */
      at: string;
      /** @enum {string} */
      method: 'password' | 'password+totp' | 'sso';
      versionHash: string;
    };
    /**
     * @example {
     *       "ticket": "q0Fh3o0qWcS3l1w8cS2bX3m0V5d1Y7n9Q2r4T6u8W0z",
     *       "expiresIn": 287
     *     }
     */
    SignatureTicketResponse: {
      /** @description Send it as `signature.ticket` with the QA decision; it works once. */
      ticket: string;
      /** @description Seconds until it expires (`SIGNATURE_MAX_AGE_SECONDS` after sign-in). */
      expiresIn: number;
    };
    /**
     * @example {
     *       "items": [
     *         {
     *           "id": "corporate",
     *           "displayName": "Corporate sign-in"
     *         }
     *       ]
     *     }
     */
    SsoProviderList: {
      items: {
        /** @description For `GET /auth/sso/{provider}`. */
        id: string;
        /** @description The button's label. */
        displayName: string;
      }[];
    };
    /**
     * @example {
     *       "temporaryPassword": "Xq7mKp2vRt9wZb4nHc8d"
     *     }
     */
    TemporaryPassword: {
      /** @description Give it to the user by a safe way: it signs in once, and only to set a new password. */
      temporaryPassword: string;
    };
    /**
     * @example {
     *       "accessToken": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
     *       "refreshToken": "rt_4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f",
     *       "tokenType": "Bearer",
     *       "expiresIn": 900
     *     }
     */
    TokenResponse: {
      /** @description A JWT (RS256) for `Authorization: Bearer …`. */
      accessToken: string;
      /** @description Absent for a cookie session: the new refresh token is in the `cr_refresh` cookie instead. */
      refreshToken?: string;
      /** @constant */
      tokenType: 'Bearer';
      /** @description Seconds until the access token expires. */
      expiresIn: number;
    };
    UserPage: {
      items: components['schemas']['PublicUser'][];
      /** @description Opaque; valid only for the same query. */
      nextCursor: string | null;
    };
    /**
     * @example {
     *       "entityType": "charge",
     *       "entityId": "6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21",
     *       "valid": true,
     *       "records": 3
     *     }
     */
    VerifyResult: {
      valid: boolean;
      records: number;
      brokenAt?: {
        seq: number;
        auditId: string;
        /** @enum {string} */
        problem: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap' | 'derived_mismatch';
      };
      /** @enum {string} */
      reason?: 'chain_broken' | 'cut_off' | 'rehashed' | 'chain_missing' | 'behind_entity' | 'digest_invalid';
      anchoredBy?: {
        digestId: string;
        seq: number;
        hash: string;
      };
      entityType: string;
      entityId: string;
    };
    Widget: {
      id: string;
      title: components['schemas']['DashboardTitle'];
      /** @enum {string} */
      type: 'kpi' | 'line' | 'bar' | 'stacked_bar' | 'pie' | 'table';
      query: components['schemas']['WidgetQuery'];
      layout: {
        x: number;
        y: number;
        w: number;
        h: number;
      };
    };
    WidgetQuery:
      | {
          /** @constant */
          endpoint: 'charges';
          params: components['schemas']['ChargesQuery'];
        }
      | {
          /** @constant */
          endpoint: 'qa';
          params: components['schemas']['QaQuery'];
        };
  };
  responses: {
    /** @description Malformed: bad JSON, unknown or repeated fields or parameters, a bad cursor */
    BadRequest: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'BAD_REQUEST';
          };
        };
      };
    };
    /** @description No valid bearer token (or, at sign-in, wrong credentials) */
    Unauthorized: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        'WWW-Authenticate': components['headers']['WWW-Authenticate'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'UNAUTHORIZED' | 'MFA_REQUIRED';
          };
        };
      };
    };
    /** @description The token lacks the route's permission, or a rule forbids the change */
    Forbidden: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        /** @description Requests allowed in the caller's window. */
        'X-RateLimit-Limit'?: string;
        /** @description Requests left in the window. */
        'X-RateLimit-Remaining'?: string;
        /** @description When the window resets (epoch seconds). */
        'X-RateLimit-Reset'?: string;
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?:
              | 'FORBIDDEN'
              | 'SEGREGATION_OF_DUTIES'
              | 'SIGNATURE_REQUIRED'
              | 'SIGNATURE_INVALID'
              | 'PASSWORD_CHANGE_REQUIRED'
              | 'MFA_ENROLMENT_REQUIRED';
          };
        };
      };
    };
    /** @description No such resource (or no such route, for an authenticated caller) */
    NotFound: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'NOT_FOUND';
          };
        };
      };
    };
    /** @description The path does not serve this method; `Allow` lists those it does */
    MethodNotAllowed: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        Allow: components['headers']['Allow'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'METHOD_NOT_ALLOWED';
          };
        };
      };
    };
    /** @description The current state does not allow this */
    Conflict: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        /** @description Seconds to wait before retrying. */
        'Retry-After'?: string;
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'CONFLICT' | 'INVALID_TRANSITION';
          };
        };
      };
    };
    /** @description `If-Match` does not name the current version */
    PreconditionFailed: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'PRECONDITION_FAILED';
          };
        };
      };
    };
    /** @description The body is over 1048576 bytes (a JSON body), or over API Gateway's 10 MB (any request) */
    PayloadTooLarge: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'PAYLOAD_TOO_LARGE';
          };
        };
      };
    };
    /** @description The body is not `application/json` in UTF-8 */
    UnsupportedMediaType: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'UNSUPPORTED_MEDIA_TYPE';
          };
        };
      };
    };
    /** @description Valid JSON, but a value breaks a rule (field paths in `details`) */
    UnprocessableContent: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'VALIDATION_ERROR' | 'EXPORT_TOO_LARGE';
          };
        };
      };
    };
    /** @description Too many failed sign-ins: locked until `Retry-After` */
    Locked: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        'Retry-After': components['headers']['Retry-After'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'ACCOUNT_LOCKED';
          };
        };
      };
    };
    /** @description A change needs `If-Match` with the version read */
    PreconditionRequired: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'PRECONDITION_REQUIRED';
          };
        };
      };
    };
    /** @description A rate limit is spent: retry after `Retry-After` seconds */
    TooManyRequests: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        'Retry-After': components['headers']['Retry-After'];
        /** @description Requests allowed in the caller's window. */
        'X-RateLimit-Limit'?: string;
        /** @description Requests left in the window. */
        'X-RateLimit-Remaining'?: string;
        /** @description When the window resets (epoch seconds). */
        'X-RateLimit-Reset'?: string;
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'RATE_LIMITED';
          };
        };
      };
    };
    /** @description An unexpected error (logged under `error.id`) */
    InternalError: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'INTERNAL_ERROR';
          };
        };
      };
    };
    /** @description A dependency is unavailable: retry after `Retry-After` seconds */
    Unavailable: {
      headers: {
        'X-Request-ID': components['headers']['X-Request-ID'];
        'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
        'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
        'Cache-Control': components['headers']['Cache-Control'];
        'X-Frame-Options': components['headers']['X-Frame-Options'];
        'Content-Security-Policy': components['headers']['Content-Security-Policy'];
        'Referrer-Policy': components['headers']['Referrer-Policy'];
        'Retry-After': components['headers']['Retry-After'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['ApiError'] & {
          error?: {
            /** @enum {unknown} */
            code?: 'UNAVAILABLE';
          };
        };
      };
    };
  };
  parameters: never;
  requestBodies: never;
  headers: {
    /** @description The request's correlation id: the caller's own if it is 1–128 of `[A-Za-z0-9._:-]`, else a new one. */
    'X-Request-ID': string;
    /** @description A security header on every answer (`max-age=63072000; includeSubDomains` unless a route says otherwise). */
    'Strict-Transport-Security': string;
    /** @description A security header on every answer (`nosniff` unless a route says otherwise). */
    'X-Content-Type-Options': string;
    /** @description A security header on every answer (`no-store` unless a route says otherwise). */
    'Cache-Control': string;
    /** @description A security header on every answer (`DENY` unless a route says otherwise). */
    'X-Frame-Options': string;
    /** @description A security header on every answer (`default-src 'none'; frame-ancestors 'none'` unless a route says otherwise). */
    'Content-Security-Policy': string;
    /** @description A security header on every answer (`no-referrer` unless a route says otherwise). */
    'Referrer-Policy': string;
    /** @description Requests allowed in the caller's window. */
    'X-RateLimit-Limit': string;
    /** @description Requests left in the window. */
    'X-RateLimit-Remaining': string;
    /** @description When the window resets (epoch seconds). */
    'X-RateLimit-Reset': string;
    /** @description Seconds to wait before retrying. */
    'Retry-After': string;
    /** @description The scheme to authenticate with: `Bearer`. */
    'WWW-Authenticate': string;
    /** @description The methods the path serves. */
    Allow: string;
    /** @description The version of the resource, quoted (`"3"`): send it back as `If-Match`. */
    ETag: string;
    /** @description The new resource (201) or where to fetch the answer (303), with the stage prefix the client used; where a browser goes next (302). */
    Location: string;
    /** @description The file name to save the attachment as. */
    'Content-Disposition': string;
  };
  pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
  getStatusHealth: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Up */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "status": "ok",
           *       "version": "0.1.0",
           *       "uptime": 42,
           *       "timestamp": "2026-05-02T10:00:00.000Z"
           *     }
           */
          'application/json': components['schemas']['Health'];
        };
      };
      400: components['responses']['BadRequest'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getStatusHealthLiveness: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Alive */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Liveness'];
        };
      };
      400: components['responses']['BadRequest'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getStatusHealthReadiness: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Every check passed */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "status": "ready",
           *       "checks": {
           *         "table:charges": {
           *           "status": "ok",
           *           "responseTimeMs": 12
           *         }
           *       }
           *     }
           */
          'application/json': components['schemas']['Readiness'];
        };
      };
      400: components['responses']['BadRequest'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      /** @description A check failed: the error with the report */
      503: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'Retry-After': components['headers']['Retry-After'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['NotReady'];
        };
      };
    };
  };
  getStatusHealthDetailed: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Healthy or degraded */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "status": "healthy",
           *       "version": "0.1.0",
           *       "commit": "unknown",
           *       "uptime": 42,
           *       "timestamp": "2026-05-02T10:00:00.000Z",
           *       "checks": {
           *         "table:charges": {
           *           "status": "ok",
           *           "responseTimeMs": 12
           *         }
           *       },
           *       "external": {},
           *       "signingKey": {
           *         "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
           *         "ageSeconds": 3600,
           *         "nextRotation": "2026-06-01T09:00:00.000Z"
           *       },
           *       "system": {
           *         "scope": "instance",
           *         "uptimeSeconds": 42,
           *         "memory": {
           *           "rssBytes": 98000000,
           *           "heapUsedBytes": 41000000,
           *           "heapTotalBytes": 52000000,
           *           "externalBytes": 3000000
           *         },
           *         "cpu": {
           *           "userSeconds": 1.42,
           *           "systemSeconds": 0.21
           *         },
           *         "eventLoopDelayMs": {
           *           "mean": 20.4,
           *           "p99": 22.1,
           *           "max": 35.7
           *         }
           *       }
           *     }
           */
          'application/json': components['schemas']['DetailedHealth'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      /** @description Unhealthy: the error with the whole report */
      503: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'Retry-After': components['headers']['Retry-After'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['DetailedHealthUnavailable'];
        };
      };
    };
  };
  getMetrics: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The Prometheus text format */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'text/plain': string;
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getOpenapiJson: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The OpenAPI document */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['OpenApiDocumentBody'];
        };
      };
      400: components['responses']['BadRequest'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getDocs: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The reference page */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content: {
          'text/html': string;
        };
      };
      400: components['responses']['BadRequest'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  get: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description To the console */
      302: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postAuthLogin: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "username": "admin",
         *       "password": "correct horse battery staple"
         *     }
         */
        'application/json': components['schemas']['LoginBody'];
      };
    };
    responses: {
      /** @description Tokens */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
           *       "refreshToken": "rt_4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900
           *     }
           */
          'application/json': components['schemas']['TokenResponse'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      423: components['responses']['Locked'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postAuthRefresh: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: {
      content: {
        /**
         * @example {
         *       "refreshToken": "rt_4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f"
         *     }
         */
        'application/json': components['schemas']['RefreshBody'];
      };
    };
    responses: {
      /** @description New tokens */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "accessToken": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
           *       "refreshToken": "rt_4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f",
           *       "tokenType": "Bearer",
           *       "expiresIn": 900
           *     }
           */
          'application/json': components['schemas']['TokenResponse'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postAuthLogout: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': components['schemas']['LogoutBody'];
      };
    };
    responses: {
      /** @description Signed out */
      204: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getUsersMe: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The caller */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Me'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  patchUsersMe: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['PatchMeBody'];
      };
    };
    responses: {
      /** @description The caller as changed */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Me'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postUsersMePassword: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['ChangePasswordBody'];
      };
    };
    responses: {
      /** @description Changed */
      204: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      423: components['responses']['Locked'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postUsersMeMfa: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The pending secret */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
           *       "otpauthUri": "otpauth://totp/Charge%20Records:qa.lead?issuer=Charge%20Records&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30"
           *     }
           */
          'application/json': components['schemas']['MfaEnrolment'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  deleteUsersMeMfa: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "password": "correct horse battery staple",
         *       "totp": "287082"
         *     }
         */
        'application/json': components['schemas']['RemoveMfaBody'];
      };
    };
    responses: {
      /** @description MFA is off */
      204: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      423: components['responses']['Locked'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postUsersMeMfaConfirm: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "totp": "287082"
         *     }
         */
        'application/json': components['schemas']['ConfirmMfaBody'];
      };
    };
    responses: {
      /** @description MFA is on; the recovery codes */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "recoveryCodes": [
           *         "k7pd-m3xq-9tza-hw2e",
           *         "c4rn-v8bs-2kqf-yj6m",
           *         "u5ht-q9wc-3npx-7gad",
           *         "e2mz-r6kv-8bjt-4syq",
           *         "w3fa-n7hx-5cpu-9dkm",
           *         "p8qs-z2ge-6tvr-3mjw",
           *         "h4ky-c9dn-7rzb-2xqe",
           *         "a6vm-t3pj-8wsh-5ncu",
           *         "r9xe-k2qa-4mzd-7gtv",
           *         "s5cw-h8yt-3bpk-6rfn"
           *       ]
           *     }
           */
          'application/json': components['schemas']['RecoveryCodes'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postAuthPasswordResetRequest: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "username": "qa.lead"
         *     }
         */
        'application/json': components['schemas']['PasswordResetRequestBody'];
      };
    };
    responses: {
      /** @description Accepted (whatever the username) */
      202: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postAuthPasswordReset: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "token": "q0Fh3o0qWcS3l1w8cS2bX3m0V5d1Y7n9Q2r4T6u8W0z",
         *       "newPassword": "a new long passphrase"
         *     }
         */
        'application/json': components['schemas']['PasswordResetBody'];
      };
    };
    responses: {
      /** @description Password set */
      204: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getUsersMeSessions: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The sessions */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "3f0c6a52-8d1e-4b7a-9c2f-5e4d3c2b1a09",
           *           "createdAt": "2026-05-02T08:00:00.000Z",
           *           "lastUsedAt": "2026-05-02T08:14:00.000Z",
           *           "expiresAt": "2026-05-09T08:00:00.000Z",
           *           "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
           *           "sourceIp": "203.0.113.7",
           *           "current": true
           *         }
           *       ]
           *     }
           */
          'application/json': components['schemas']['SessionList'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  deleteUsersMeSessionsById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Ended */
      204: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getAuthSsoProviders: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The providers */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "items": [
           *         {
           *           "id": "corporate",
           *           "displayName": "Corporate sign-in"
           *         }
           *       ]
           *     }
           */
          'application/json': components['schemas']['SsoProviderList'];
        };
      };
      400: components['responses']['BadRequest'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getAuthSsoByProvider: {
    parameters: {
      query?: {
        /** @description `sign`: a fresh sign-in (`prompt=login`, `max_age=0`) for an electronic signature ticket. */
        purpose?: 'login' | 'sign';
      };
      header?: never;
      path: {
        /** @description A server-issued id */
        provider: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description To the identity provider */
      302: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getAuthSsoCallback: {
    parameters: {
      query?: {
        state?: string;
        code?: string;
        error?: string;
        error_description?: string;
        iss?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Into the console */
      302: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postAuthSsoTicket: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The ticket */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "ticket": "q0Fh3o0qWcS3l1w8cS2bX3m0V5d1Y7n9Q2r4T6u8W0z",
           *       "expiresIn": 287
           *     }
           */
          'application/json': components['schemas']['SignatureTicketResponse'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getUsers: {
    parameters: {
      query?: {
        /** @description Page size: 1–100, default 25 */
        limit?: string;
        /** @description The `nextCursor` of the page before */
        cursor?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of users */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['UserPage'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postUsers: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "username": "qa.lead",
         *       "password": "correct horse battery staple",
         *       "roles": [
         *         "quality_manager"
         *       ],
         *       "email": "qa.lead@example.com",
         *       "displayName": "QA Lead",
         *       "reason": "New QA lead, ticket HR-1042"
         *     }
         */
        'application/json': components['schemas']['CreateUserBody'];
      };
    };
    responses: {
      /** @description The user */
      201: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *       "username": "qa.lead",
           *       "roles": [
           *         "quality_manager"
           *       ],
           *       "rolesFrom": "local",
           *       "disabled": false,
           *       "source": "local",
           *       "email": "qa.lead@example.com",
           *       "displayName": "QA Lead",
           *       "version": 1,
           *       "createdAt": "2026-05-02T10:00:00.000Z",
           *       "createdBy": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
           *       "updatedAt": "2026-05-02T10:00:00.000Z",
           *       "updatedBy": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
           *     }
           */
          'application/json': components['schemas']['PublicUser'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getUsersById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The user */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *       "username": "qa.lead",
           *       "roles": [
           *         "quality_manager"
           *       ],
           *       "rolesFrom": "local",
           *       "disabled": false,
           *       "source": "local",
           *       "email": "qa.lead@example.com",
           *       "displayName": "QA Lead",
           *       "version": 1,
           *       "createdAt": "2026-05-02T10:00:00.000Z",
           *       "createdBy": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
           *       "updatedAt": "2026-05-02T10:00:00.000Z",
           *       "updatedBy": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
           *     }
           */
          'application/json': components['schemas']['PublicUser'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  deleteUsersById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "reason": "Left the company, ticket HR-1077"
         *     }
         */
        'application/json': components['schemas']['ReasonBody'];
      };
    };
    responses: {
      /** @description Disabled */
      204: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  patchUsersById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "roles": [
         *         "quality_manager",
         *         "auditor"
         *       ],
         *       "reason": "Takes over the periodic reviews"
         *     }
         */
        'application/json': components['schemas']['PatchUserBody'];
      };
    };
    responses: {
      /** @description The user as changed */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *       "username": "qa.lead",
           *       "roles": [
           *         "quality_manager"
           *       ],
           *       "rolesFrom": "local",
           *       "disabled": false,
           *       "source": "local",
           *       "email": "qa.lead@example.com",
           *       "displayName": "QA Lead",
           *       "version": 1,
           *       "createdAt": "2026-05-02T10:00:00.000Z",
           *       "createdBy": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
           *       "updatedAt": "2026-05-02T10:00:00.000Z",
           *       "updatedBy": "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
           *     }
           */
          'application/json': components['schemas']['PublicUser'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postUsersByIdPasswordReset: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "reason": "Left the company, ticket HR-1077"
         *     }
         */
        'application/json': components['schemas']['ReasonBody'];
      };
    };
    responses: {
      /** @description The temporary password */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "temporaryPassword": "Xq7mKp2vRt9wZb4nHc8d"
           *     }
           */
          'application/json': components['schemas']['TemporaryPassword'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postUsersByIdUnlock: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Unlocked */
      204: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postUsersByIdRevokeTokens: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Revoked */
      204: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postAuthToken: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description An access token */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ClientTokenResponse'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getServiceAccounts: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The live service accounts */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ServiceAccountList'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postServiceAccounts: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "name": "prometheus",
         *       "permissions": [
         *         "metrics:read"
         *       ],
         *       "reason": "Monitoring scrapes /metrics"
         *     }
         */
        'application/json': components['schemas']['CreateServiceAccountBody'];
      };
    };
    responses: {
      /** @description The account and its secret */
      201: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ServiceAccountCredentials'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postServiceAccountsByIdRotateSecret: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "reason": "Scraper moved to the new monitoring cluster"
         *     }
         */
        'application/json': components['schemas']['ServiceAccountReasonBody'];
      };
    };
    responses: {
      /** @description The account and its new secret */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ServiceAccountCredentials'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  deleteServiceAccountsById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "reason": "Scraper moved to the new monitoring cluster"
         *     }
         */
        'application/json': components['schemas']['ServiceAccountReasonBody'];
      };
    };
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getWellKnownJwksJson: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The key set */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "keys": [
           *         {
           *           "kty": "RSA",
           *           "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
           *           "alg": "RS256",
           *           "use": "sig",
           *           "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
           *           "e": "AQAB"
           *         }
           *       ]
           *     }
           */
          'application/json': components['schemas']['Jwks'];
        };
      };
      400: components['responses']['BadRequest'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getWellKnownOpenidConfiguration: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Issuer, key set and token endpoint */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['OpenIdConfiguration'];
        };
      };
      400: components['responses']['BadRequest'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postAdminKeysRotate: {
    parameters: {
      query?: {
        force?: 'true' | 'false';
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Rotated, or rotation started */
      202: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "status": "rotation-started",
           *       "rotationId": "2d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a"
           *     }
           */
          'application/json': components['schemas']['RotationAccepted'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getCharges: {
    parameters: {
      query?: {
        /** @description Lot number (Chargennummer): 1–40 of `A–Z a–z 0–9 - _ / .` */
        lotNumber?: string;
        status?: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
        articleId?: string;
        from?: string;
        to?: string;
        /** @description Page size: 1–100, default 25 */
        limit?: string;
        /** @description The `nextCursor` of the page before */
        cursor?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of charges */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ChargePage'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postCharges: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "articleId": "ART-1001",
         *       "quantity": 250.5,
         *       "unit": "kg",
         *       "productionDate": "2026-05-02",
         *       "expiryDate": "2027-05-02"
         *     }
         */
        'application/json': components['schemas']['NewCharge'];
      };
    };
    responses: {
      /** @description The charge, version 1 */
      201: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          ETag: components['headers']['ETag'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "chargeId": "6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21",
           *       "lotNumber": "2026-00042",
           *       "articleId": "ART-1001",
           *       "quantity": 250.5,
           *       "unit": "kg",
           *       "productionDate": "2026-05-02",
           *       "expiryDate": "2027-05-02",
           *       "status": "in_production",
           *       "notes": "Line 3",
           *       "version": 1,
           *       "createdAt": "2026-05-02T10:00:00.000Z",
           *       "createdBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "operator.1"
           *       },
           *       "updatedAt": "2026-05-02T10:00:00.000Z",
           *       "updatedBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "operator.1"
           *       }
           *     }
           */
          'application/json': components['schemas']['Charge'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getChargesById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The charge; `ETag` is its version */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          ETag: components['headers']['ETag'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "chargeId": "6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21",
           *       "lotNumber": "2026-00042",
           *       "articleId": "ART-1001",
           *       "quantity": 250.5,
           *       "unit": "kg",
           *       "productionDate": "2026-05-02",
           *       "expiryDate": "2027-05-02",
           *       "status": "in_production",
           *       "notes": "Line 3",
           *       "version": 1,
           *       "createdAt": "2026-05-02T10:00:00.000Z",
           *       "createdBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "operator.1"
           *       },
           *       "updatedAt": "2026-05-02T10:00:00.000Z",
           *       "updatedBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "operator.1"
           *       }
           *     }
           */
          'application/json': components['schemas']['Charge'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  deleteChargesById: {
    parameters: {
      query?: never;
      header: {
        /** @description The `ETag` of the version the change is based on (`"3"`); missing is 428, another version 412. */
        'If-Match': string;
      };
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "reason": "Entered twice by mistake"
         *     }
         */
        'application/json': components['schemas']['DeleteCharge'];
      };
    };
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      412: components['responses']['PreconditionFailed'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      428: components['responses']['PreconditionRequired'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  patchChargesById: {
    parameters: {
      query?: never;
      header: {
        /** @description The `ETag` of the version the change is based on (`"3"`); missing is 428, another version 412. */
        'If-Match': string;
      };
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "status": "quarantine",
         *       "reason": "Waiting for the lab result"
         *     }
         */
        'application/json': components['schemas']['ChargePatch'];
      };
    };
    responses: {
      /** @description The charge as changed */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          ETag: components['headers']['ETag'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "chargeId": "6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21",
           *       "lotNumber": "2026-00042",
           *       "articleId": "ART-1001",
           *       "quantity": 250.5,
           *       "unit": "kg",
           *       "productionDate": "2026-05-02",
           *       "expiryDate": "2027-05-02",
           *       "status": "in_production",
           *       "notes": "Line 3",
           *       "version": 1,
           *       "createdAt": "2026-05-02T10:00:00.000Z",
           *       "createdBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "operator.1"
           *       },
           *       "updatedAt": "2026-05-02T10:00:00.000Z",
           *       "updatedBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "operator.1"
           *       }
           *     }
           */
          'application/json': components['schemas']['Charge'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      409: components['responses']['Conflict'];
      412: components['responses']['PreconditionFailed'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      423: components['responses']['Locked'];
      428: components['responses']['PreconditionRequired'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getChargesByIdHistory: {
    parameters: {
      query?: {
        /** @description Versions per page: 1–100, default 100 */
        limit?: string;
        /** @description The `nextCursor` of the page before */
        cursor?: string;
      };
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of versions */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "chargeId": "6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21",
           *       "versions": [
           *         {
           *           "version": 1,
           *           "action": "create",
           *           "at": "2026-05-02T10:00:00.000Z",
           *           "actor": {
           *             "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *             "username": "operator.1"
           *           },
           *           "reason": null,
           *           "requestId": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
           *           "changes": {
           *             "articleId": {
           *               "from": null,
           *               "to": "ART-1001"
           *             },
           *             "status": {
           *               "from": null,
           *               "to": "in_production"
           *             }
           *           }
           *         }
           *       ],
           *       "nextCursor": null
           *     }
           */
          'application/json': components['schemas']['ChargeHistory'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getChargesByIdVersionsByN: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
        /** @description A server-issued id */
        n: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The version */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ChargeVersion'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postChargesByIdReviews: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "signature": {
         *         "meaning": "reviewed",
         *         "password": "correct horse battery staple"
         *       },
         *       "comment": "Annual review"
         *     }
         */
        'application/json': components['schemas']['ReviewBody'];
      };
    };
    responses: {
      /** @description The review: the version it wrote and the signature */
      201: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['ChargeReview'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      423: components['responses']['Locked'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getAudit: {
    parameters: {
      query?: {
        entityType?: string;
        entityId?: string;
        actor?: string;
        action?: string;
        from?: string;
        to?: string;
        /** @description Page size: 1–100, default 25 */
        limit?: string;
        /** @description The `nextCursor` of the page before */
        cursor?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of audit records */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AuditPage'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getAuditVerify: {
    parameters: {
      query: {
        entityType: string;
        entityId: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The outcome (a broken chain is 200 with `valid: false`) */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "entityType": "charge",
           *       "entityId": "6b2f1c7e-2f43-4a55-9d1e-0c6a4f8f9b21",
           *       "valid": true,
           *       "records": 3
           *     }
           */
          'application/json': components['schemas']['VerifyResult'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getAuditDigests: {
    parameters: {
      query?: {
        from?: string;
        to?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The digests */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AuditDigestList'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getAuditDigestsById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The digest */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AuditDigest'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getReportsAuditJsonl: {
    parameters: {
      query?: {
        from?: string;
        to?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description JSON Lines: a header line, then one record per line */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          'Content-Disposition': components['headers']['Content-Disposition'];
          [name: string]: unknown;
        };
        content: {
          'application/x-ndjson': string;
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getChargesByIdReportPdf: {
    parameters: {
      query?: {
        lang?: 'de' | 'en';
        /** @description IANA time zone the PDF and XLSX print times in (default UTC) */
        timezone?: string;
      };
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The PDF (attachment) */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          'Content-Disposition': components['headers']['Content-Disposition'];
          [name: string]: unknown;
        };
        content: {
          'application/pdf': string;
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getReportsChargesCsv: {
    parameters: {
      query?: {
        status?: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
        articleId?: string;
        from?: string;
        to?: string;
        lang?: 'de' | 'en';
        /** @description Comma-separated fields in order: lotNumber,chargeId,articleId,quantity,unit,productionDate,expiryDate,status,notes,version,createdAt,createdBy,updatedAt,updatedBy,deletedAt */
        columns?: string;
        /** @description true: deleted charges too, marked by their deletion time (needs audit:read) */
        includeDeleted?: 'true' | 'false';
        /** @description IANA time zone the PDF and XLSX print times in (default UTC) */
        timezone?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The file (attachment) */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          'Content-Disposition': components['headers']['Content-Disposition'];
          [name: string]: unknown;
        };
        content: {
          'text/csv': string;
        };
      };
      /** @description A large file: `Location` is a short-lived download link */
      303: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getReportsChargesXlsx: {
    parameters: {
      query?: {
        status?: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
        articleId?: string;
        from?: string;
        to?: string;
        lang?: 'de' | 'en';
        /** @description Comma-separated fields in order: lotNumber,chargeId,articleId,quantity,unit,productionDate,expiryDate,status,notes,version,createdAt,createdBy,updatedAt,updatedBy,deletedAt */
        columns?: string;
        /** @description true: deleted charges too, marked by their deletion time (needs audit:read) */
        includeDeleted?: 'true' | 'false';
        /** @description IANA time zone the PDF and XLSX print times in (default UTC) */
        timezone?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The file (attachment) */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          'Content-Disposition': components['headers']['Content-Disposition'];
          [name: string]: unknown;
        };
        content: {
          'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': string;
        };
      };
      /** @description A large file: `Location` is a short-lived download link */
      303: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getReportsChargesPdf: {
    parameters: {
      query?: {
        status?: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
        articleId?: string;
        from?: string;
        to?: string;
        lang?: 'de' | 'en';
        /** @description Comma-separated fields in order: lotNumber,chargeId,articleId,quantity,unit,productionDate,expiryDate,status,notes,version,createdAt,createdBy,updatedAt,updatedBy,deletedAt */
        columns?: string;
        /** @description true: deleted charges too, marked by their deletion time (needs audit:read) */
        includeDeleted?: 'true' | 'false';
        /** @description IANA time zone the PDF and XLSX print times in (default UTC) */
        timezone?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The file (attachment) */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          'Content-Disposition': components['headers']['Content-Disposition'];
          [name: string]: unknown;
        };
        content: {
          'application/pdf': string;
        };
      };
      /** @description A large file: `Location` is a short-lived download link */
      303: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getReportsAuditCsv: {
    parameters: {
      query?: {
        entityType?: string;
        entityId?: string;
        actor?: string;
        action?: string;
        from?: string;
        to?: string;
        lang?: 'de' | 'en';
        /** @description Comma-separated fields in order: at,entityType,entityId,action,actor,actorId,reason,version,changes,requestId,auditId,seq,hash */
        columns?: string;
        /** @description IANA time zone the PDF and XLSX print times in (default UTC) */
        timezone?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The file (attachment) */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          'Content-Disposition': components['headers']['Content-Disposition'];
          [name: string]: unknown;
        };
        content: {
          'text/csv': string;
        };
      };
      /** @description A large file: `Location` is a short-lived download link */
      303: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getReportsAuditXlsx: {
    parameters: {
      query?: {
        entityType?: string;
        entityId?: string;
        actor?: string;
        action?: string;
        from?: string;
        to?: string;
        lang?: 'de' | 'en';
        /** @description Comma-separated fields in order: at,entityType,entityId,action,actor,actorId,reason,version,changes,requestId,auditId,seq,hash */
        columns?: string;
        /** @description IANA time zone the PDF and XLSX print times in (default UTC) */
        timezone?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The file (attachment) */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          'Content-Disposition': components['headers']['Content-Disposition'];
          [name: string]: unknown;
        };
        content: {
          'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': string;
        };
      };
      /** @description A large file: `Location` is a short-lived download link */
      303: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getReportsRuns: {
    parameters: {
      query?: {
        /** @description Page size: 1–100, default 25 */
        limit?: string;
        /** @description The `nextCursor` of the page before */
        cursor?: string;
        definitionId?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of runs */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RunPage'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getReportsRunsById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The run */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "runId": "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
           *       "definitionId": "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
           *       "definitionName": "weekly-released",
           *       "kind": "charges",
           *       "trigger": "manual",
           *       "requestedBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "qa.lead"
           *       },
           *       "status": "succeeded",
           *       "startedAt": "2026-05-02T10:00:00.000Z",
           *       "finishedAt": "2026-05-02T10:00:01.200Z",
           *       "rows": 42,
           *       "bytes": 8192,
           *       "error": null,
           *       "attempts": 1,
           *       "format": "xlsx",
           *       "filename": "weekly-released-2026-05-02.xlsx",
           *       "contentType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           *       "deliveredTo": [
           *         "qa@example.com"
           *       ]
           *     }
           */
          'application/json': components['schemas']['PublicRun'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getReportsRunsByIdDownload: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description `Location` is a short-lived download link */
      303: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getReportsDefinitions: {
    parameters: {
      query?: {
        /** @description Page size: 1–100, default 25 */
        limit?: string;
        /** @description The `nextCursor` of the page before */
        cursor?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description A page of definitions */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['DefinitionPage'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postReportsDefinitions: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "name": "weekly-released",
         *       "title": "Released charges, last 7 days",
         *       "kind": "charges",
         *       "filters": {
         *         "status": "released",
         *         "from": "P7D"
         *       },
         *       "format": "xlsx",
         *       "lang": "en",
         *       "schedule": "cron(0 6 ? * MON *)",
         *       "timezone": "Europe/Berlin",
         *       "recipients": [
         *         "qa@example.com"
         *       ]
         *     }
         */
        'application/json': components['schemas']['NewDefinition'];
      };
    };
    responses: {
      /** @description The definition */
      201: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "definitionId": "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
           *       "name": "weekly-released",
           *       "title": "Released charges, last 7 days",
           *       "kind": "charges",
           *       "filters": {
           *         "status": "released",
           *         "from": "P7D"
           *       },
           *       "columns": null,
           *       "format": "xlsx",
           *       "lang": "en",
           *       "schedule": "0 6 ? * MON *",
           *       "timezone": "Europe/Berlin",
           *       "recipients": [
           *         "qa@example.com"
           *       ],
           *       "version": 1,
           *       "createdAt": "2026-05-02T10:00:00.000Z",
           *       "createdBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "qa.lead"
           *       },
           *       "updatedAt": "2026-05-02T10:00:00.000Z",
           *       "updatedBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "qa.lead"
           *       },
           *       "nextRuns": [
           *         "2026-05-04T04:00:00.000Z",
           *         "2026-05-11T04:00:00.000Z",
           *         "2026-05-18T04:00:00.000Z"
           *       ]
           *     }
           */
          'application/json': components['schemas']['DefinitionView'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getReportsDefinitionsById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The definition */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "definitionId": "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
           *       "name": "weekly-released",
           *       "title": "Released charges, last 7 days",
           *       "kind": "charges",
           *       "filters": {
           *         "status": "released",
           *         "from": "P7D"
           *       },
           *       "columns": null,
           *       "format": "xlsx",
           *       "lang": "en",
           *       "schedule": "0 6 ? * MON *",
           *       "timezone": "Europe/Berlin",
           *       "recipients": [
           *         "qa@example.com"
           *       ],
           *       "version": 1,
           *       "createdAt": "2026-05-02T10:00:00.000Z",
           *       "createdBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "qa.lead"
           *       },
           *       "updatedAt": "2026-05-02T10:00:00.000Z",
           *       "updatedBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "qa.lead"
           *       },
           *       "nextRuns": [
           *         "2026-05-04T04:00:00.000Z",
           *         "2026-05-11T04:00:00.000Z",
           *         "2026-05-18T04:00:00.000Z"
           *       ]
           *     }
           */
          'application/json': components['schemas']['DefinitionView'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  deleteReportsDefinitionsById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  patchReportsDefinitionsById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['DefinitionPatch'];
      };
    };
    responses: {
      /** @description The definition as changed */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "definitionId": "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
           *       "name": "weekly-released",
           *       "title": "Released charges, last 7 days",
           *       "kind": "charges",
           *       "filters": {
           *         "status": "released",
           *         "from": "P7D"
           *       },
           *       "columns": null,
           *       "format": "xlsx",
           *       "lang": "en",
           *       "schedule": "0 6 ? * MON *",
           *       "timezone": "Europe/Berlin",
           *       "recipients": [
           *         "qa@example.com"
           *       ],
           *       "version": 1,
           *       "createdAt": "2026-05-02T10:00:00.000Z",
           *       "createdBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "qa.lead"
           *       },
           *       "updatedAt": "2026-05-02T10:00:00.000Z",
           *       "updatedBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "qa.lead"
           *       },
           *       "nextRuns": [
           *         "2026-05-04T04:00:00.000Z",
           *         "2026-05-11T04:00:00.000Z",
           *         "2026-05-18T04:00:00.000Z"
           *       ]
           *     }
           */
          'application/json': components['schemas']['DefinitionView'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postReportsDefinitionsByIdRun: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The run */
      201: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "runId": "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
           *       "definitionId": "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
           *       "definitionName": "weekly-released",
           *       "kind": "charges",
           *       "trigger": "manual",
           *       "requestedBy": {
           *         "userId": "0b7c4a8e-1d2f-4e3a-8b5c-6d7e8f9a0b1c",
           *         "username": "qa.lead"
           *       },
           *       "status": "succeeded",
           *       "startedAt": "2026-05-02T10:00:00.000Z",
           *       "finishedAt": "2026-05-02T10:00:01.200Z",
           *       "rows": 42,
           *       "bytes": 8192,
           *       "error": null,
           *       "attempts": 1,
           *       "format": "xlsx",
           *       "filename": "weekly-released-2026-05-02.xlsx",
           *       "contentType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           *       "deliveredTo": [
           *         "qa@example.com"
           *       ]
           *     }
           */
          'application/json': components['schemas']['PublicRun'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getAnalyticsCharges: {
    parameters: {
      query?: {
        /** @description count (default) or quantity; quantity needs one unit (`unit=` or `groupBy=unit`) */
        measure?: 'count' | 'quantity';
        /** @description Series per status, article or unit, or one series over days, weeks or months (default day) */
        groupBy?: 'status' | 'article' | 'unit' | 'day' | 'week' | 'month';
        /** @description With groupBy status, article or unit: points per day, week or month; without it, one point (the range total) */
        interval?: 'day' | 'week' | 'month';
        /** @description Start date, or a window back from `to` like `P30D`; default the 30 days up to `to` */
        from?: string;
        /** @description End date (included); default today (UTC) */
        to?: string;
        status?: 'in_production' | 'quarantine' | 'released' | 'rejected' | 'blocked';
        articleId?: string;
        unit?: 'kg' | 'g' | 't' | 'l' | 'ml' | 'pcs';
        /** @description With groupBy=article: how many articles are named (1–50, default 10); the rest is `other` */
        top?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Series of points */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "result": {
           *         "measure": "count",
           *         "groupBy": "status",
           *         "interval": "week",
           *         "from": "2026-05-04",
           *         "to": "2026-05-17",
           *         "unit": null
           *       },
           *       "series": [
           *         {
           *           "key": "released",
           *           "points": [
           *             {
           *               "t": "2026-05-04",
           *               "value": 12
           *             },
           *             {
           *               "t": "2026-05-11",
           *               "value": 9
           *             }
           *           ]
           *         },
           *         {
           *           "key": "quarantine",
           *           "points": [
           *             {
           *               "t": "2026-05-04",
           *               "value": 3
           *             },
           *             {
           *               "t": "2026-05-11",
           *               "value": 5
           *             }
           *           ]
           *         }
           *       ]
           *     }
           */
          'application/json': components['schemas']['Series'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getAnalyticsQa: {
    parameters: {
      query?: {
        /** @description decisions (default: released, rejected, blocked), lead_time (p50 and p90 in days from production to the decision ending quarantine) or rejection_rate (rejected / (released + rejected)) */
        measure?: 'decisions' | 'lead_time' | 'rejection_rate';
        /** @description Points per day (default), week or month */
        groupBy?: 'day' | 'week' | 'month';
        /** @description Start date, or a window back from `to` like `P30D`; default the 30 days up to `to` */
        from?: string;
        /** @description End date (included); default today (UTC) */
        to?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Series of points */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "result": {
           *         "measure": "count",
           *         "groupBy": "status",
           *         "interval": "week",
           *         "from": "2026-05-04",
           *         "to": "2026-05-17",
           *         "unit": null
           *       },
           *       "series": [
           *         {
           *           "key": "released",
           *           "points": [
           *             {
           *               "t": "2026-05-04",
           *               "value": 12
           *             },
           *             {
           *               "t": "2026-05-11",
           *               "value": 9
           *             }
           *           ]
           *         },
           *         {
           *           "key": "quarantine",
           *           "points": [
           *             {
           *               "t": "2026-05-04",
           *               "value": 3
           *             },
           *             {
           *               "t": "2026-05-11",
           *               "value": 5
           *             }
           *           ]
           *         }
           *       ]
           *     }
           */
          'application/json': components['schemas']['Series'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getDashboards: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The dashboards */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['DashboardList'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  postDashboards: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "title": "Line 3",
         *       "shared": false,
         *       "widgets": [
         *         {
         *           "id": "by-status",
         *           "title": "Charges by status",
         *           "type": "stacked_bar",
         *           "query": {
         *             "endpoint": "charges",
         *             "params": {
         *               "groupBy": "status",
         *               "interval": "week",
         *               "from": "P12W"
         *             }
         *           },
         *           "layout": {
         *             "x": 0,
         *             "y": 0,
         *             "w": 12,
         *             "h": 6
         *           }
         *         }
         *       ]
         *     }
         */
        'application/json': components['schemas']['DashboardInput'];
      };
    };
    responses: {
      /** @description The dashboard */
      201: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          Location: components['headers']['Location'];
          ETag: components['headers']['ETag'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Dashboard'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      409: components['responses']['Conflict'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  getDashboardsById: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The dashboard; `ETag` is its version */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          ETag: components['headers']['ETag'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Dashboard'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      413: components['responses']['PayloadTooLarge'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  putDashboardsById: {
    parameters: {
      query?: never;
      header: {
        /** @description The `ETag` of the version the change is based on (`"3"`); missing is 428, another version 412. */
        'If-Match': string;
      };
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        /**
         * @example {
         *       "title": "Line 3",
         *       "shared": false,
         *       "widgets": [
         *         {
         *           "id": "by-status",
         *           "title": "Charges by status",
         *           "type": "stacked_bar",
         *           "query": {
         *             "endpoint": "charges",
         *             "params": {
         *               "groupBy": "status",
         *               "interval": "week",
         *               "from": "P12W"
         *             }
         *           },
         *           "layout": {
         *             "x": 0,
         *             "y": 0,
         *             "w": 12,
         *             "h": 6
         *           }
         *         }
         *       ]
         *     }
         */
        'application/json': components['schemas']['DashboardInput'];
      };
    };
    responses: {
      /** @description The dashboard as changed */
      200: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          ETag: components['headers']['ETag'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Dashboard'];
        };
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      412: components['responses']['PreconditionFailed'];
      413: components['responses']['PayloadTooLarge'];
      415: components['responses']['UnsupportedMediaType'];
      422: components['responses']['UnprocessableContent'];
      428: components['responses']['PreconditionRequired'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
  deleteDashboardsById: {
    parameters: {
      query?: never;
      header: {
        /** @description The `ETag` of the version the change is based on (`"3"`); missing is 428, another version 412. */
        'If-Match': string;
      };
      path: {
        /** @description A server-issued id */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted */
      204: {
        headers: {
          'X-Request-ID': components['headers']['X-Request-ID'];
          'Strict-Transport-Security': components['headers']['Strict-Transport-Security'];
          'X-Content-Type-Options': components['headers']['X-Content-Type-Options'];
          'Cache-Control': components['headers']['Cache-Control'];
          'X-Frame-Options': components['headers']['X-Frame-Options'];
          'Content-Security-Policy': components['headers']['Content-Security-Policy'];
          'Referrer-Policy': components['headers']['Referrer-Policy'];
          'X-RateLimit-Limit': components['headers']['X-RateLimit-Limit'];
          'X-RateLimit-Remaining': components['headers']['X-RateLimit-Remaining'];
          'X-RateLimit-Reset': components['headers']['X-RateLimit-Reset'];
          [name: string]: unknown;
        };
        content?: never;
      };
      400: components['responses']['BadRequest'];
      401: components['responses']['Unauthorized'];
      403: components['responses']['Forbidden'];
      404: components['responses']['NotFound'];
      412: components['responses']['PreconditionFailed'];
      413: components['responses']['PayloadTooLarge'];
      428: components['responses']['PreconditionRequired'];
      429: components['responses']['TooManyRequests'];
      500: components['responses']['InternalError'];
      503: components['responses']['Unavailable'];
    };
  };
}

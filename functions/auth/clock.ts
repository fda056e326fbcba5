/** Epoch seconds. Reads `Date.now()` so tests can move time with vitest's fake Date. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

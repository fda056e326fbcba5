/**
 * Debian's Chromium as the browser tests and the console benchmark drive it (Playwright, no downloaded browser):
 * headless in a container, so no sandbox and no GPU, and nothing that phones home while it is measured.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

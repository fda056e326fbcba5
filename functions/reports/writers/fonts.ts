import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { config } from '#platform/config';

/**
 * Noto Sans (SIL OFL 1.1, from the npm package @expo-google-fonts/noto-sans) in TrueType, the form
 * fontkit embeds. In Lambda the fonts come from the report-assets layer, mounted under /opt; locally
 * from the same folder in the repository. A layer, because every report function needs the same 1.2 MB
 * of fonts and esbuild would otherwise copy them into each bundle.
 */
const LAYER_FONTS_DIR = '/opt/fonts';
const REPO_FONTS_DIR = resolve(import.meta.dirname, '../../../layers/report-assets/fonts');

export function fontsDir(): string {
  const configured = config().REPORT_FONTS_DIR;
  if (configured) return configured;
  return process.env.AWS_LAMBDA_FUNCTION_NAME ? LAYER_FONTS_DIR : REPO_FONTS_DIR;
}

export interface FontFiles {
  regular: Uint8Array;
  bold: Uint8Array;
}

let cached: Promise<FontFiles> | undefined;

/** Read once per process (Lambda init): every PDF embeds the same bytes. */
export function loadFonts(): Promise<FontFiles> {
  cached ??= (async () => {
    const dir = fontsDir();
    const [regular, bold] = await Promise.all([
      readFile(join(dir, 'NotoSans-Regular.ttf')),
      readFile(join(dir, 'NotoSans-Bold.ttf')),
    ]);
    return { regular, bold };
  })().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

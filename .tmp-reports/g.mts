import fontkit from '@pdf-lib/fontkit';
import { readFileSync } from 'node:fs';
const f = fontkit.create(readFileSync('layers/report-assets/fonts/NotoSans-Regular.ttf')) as any;
for (const ch of ['→', '›', '»', '–', '—', '„', '“', '…', 'Ł', '€', '✓', '·']) console.log(ch, f.hasGlyphForCodePoint(ch.codePointAt(0)));

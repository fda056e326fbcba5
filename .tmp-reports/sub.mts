import { readFileSync, writeFileSync } from 'node:fs';
import fontkit from '@pdf-lib/fontkit';
import { PDFDocument } from 'pdf-lib';
for (const subset of [true, false]) {
  const doc = await PDFDocument.create(); doc.registerFontkit(fontkit);
  const f = await doc.embedFont(readFileSync('layers/report-assets/fonts/NotoSans-Regular.ttf'), { subset });
  const p = doc.addPage([300, 100]);
  p.drawText('Chargenliste Łódź Größe Ærø 12345', { x: 10, y: 50, size: 12, font: f });
  writeFileSync(`/tmp/rep/sub-${subset}.pdf`, await doc.save());
}

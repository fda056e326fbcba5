import { createWriteStream } from 'node:fs';
import { pdfTableWriter } from '../functions/shared/reports/pdf-writer';
import { chargeProjection, defaultColumns } from '../functions/reports/columns';
const proj = chargeProjection(defaultColumns('charges','pdf'), 'de');
const out = createWriteStream('/tmp/rep/list.pdf');
const t0 = Date.now();
const w = await pdfTableWriter(out, proj.columns, { title: 'Chargenliste Größe', lang: 'de', generatedAt: new Date(), generatedBy: 'admin', filters: [['Status','released']] });
for (let i = 0; i < 10000; i++) {
  await w.addRow(proj.row({ chargeId: `c-${i}-0000-1111-2222-333333333333`, articleId: `ART-${i % 50}`, quantity: 1234.5 + i, unit: 'kg', productionDate: '2026-11-01', expiryDate: '2027-11-01', status: 'released', notes: i % 3 ? 'Łódź Größe Ærø =HYPERLINK("http://x")' : 'short', version: 2, createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), createdBy: {userId:'u', username:'anna'}, updatedBy: {userId:'u', username:'bernd'} } as never));
}
await w.finish();
console.log('ms', Date.now()-t0, 'rss', process.resourceUsage().maxRSS/1024);

import { writeFileSync } from 'node:fs';
import { ChargeService } from '../functions/charges/service';
import { chargeReportPdf } from '../functions/reports/chargenbericht';
const anna = { userId: 'u1', username: 'anna.schmidt' }, qm = { userId: 'u2', username: 'qm.müller' };
const base = { chargeId: '3f6c1a52-8d1e-4c1b-9a57-2b8e0c4d9f10', articleId: 'ART-4711', quantity: 1250.5, unit: 'kg', productionDate: '2026-11-02', expiryDate: '2027-11-02', status: 'in_production', notes: 'Rohstoff aus Łódź; Größe 3; Versand nach Ærø.', createdAt: '2026-11-02T07:12:00.000Z', createdBy: anna, requestId: 'r1', reason: null };
const v = [
  { ...base, version: 1, updatedAt: base.createdAt, updatedBy: anna },
  { ...base, version: 2, status: 'quarantine', updatedAt: '2026-11-03T09:30:00.000Z', updatedBy: anna, reason: 'Probenahme für Laborprüfung' },
  { ...base, version: 3, status: 'quarantine', quantity: 1248, updatedAt: '2026-11-04T10:00:00.000Z', updatedBy: anna, reason: 'Probenentnahme 2,5 kg' },
  { ...base, version: 4, status: 'released', quantity: 1248, updatedAt: '2026-11-05T14:45:00.000Z', updatedBy: qm, reason: 'Laborbefund in Ordnung, Freigabe nach Vier-Augen-Prinzip' },
];
const store = { get: async () => v[3], versions: async () => v } as never;
const { bytes } = await chargeReportPdf(new ChargeService(store), base.chargeId, 'de', 'qm.müller', new Date('2026-11-25T08:15:00Z'));
writeFileSync('/tmp/rep/cb.pdf', bytes);

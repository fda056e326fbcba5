import { readFileSync } from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';
const config = await createConfig({ extends: ['recommended'] });
const problems = await lintFromString({ source: readFileSync('functions/platform/openapi/openapi.json', 'utf8'), absoluteRef: '/work/main/functions/platform/openapi/openapi.json', config });
const counts: Record<string, number> = {};
for (const p of problems) { const k = `${p.severity} ${p.ruleId}`; counts[k] = (counts[k] ?? 0) + 1; }
console.log(counts);
for (const p of problems.slice(0, 400)) if (!/operation-4xx|nope/.test(p.ruleId)) console.log(p.severity, p.ruleId, p.message.slice(0, 200), p.location?.[0]?.pointer);

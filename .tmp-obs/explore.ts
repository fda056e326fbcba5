import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { buildApp } from '/work/main/lib/app';
import { cdkJsonContext } from '/work/main/test/cdk/helpers';
const ctx = JSON.parse(process.argv[2] ?? '{}');
const built = buildApp({ outdir: '/tmp/obs/out', context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...ctx } });
for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
  const report = pack.validateScope(built.app);
  console.log(report.violations.map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`));
}

import { NestedStack, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize, type SynthesizedApp } from './helpers';

/** CloudFormation refuses a stack (nested ones included) of more than 500 resources. */
const CLOUDFORMATION_LIMIT = 500;
/** Fail well before the limit, so a growing stack is split while there is room to do it calmly. */
const MARGIN_LIMIT = 450;

/** Resource counts of every stack and nested stack of the app, by construct path. */
function resourceCounts(built: SynthesizedApp): Map<string, number> {
  const stacks = built.app.node.findAll().filter((c): c is Stack => Stack.isStack(c));
  return new Map(
    stacks.map((stack) => [
      `${stack.node.path}${NestedStack.isNestedStack(stack) ? ' (nested)' : ''}`,
      Object.keys(Template.fromStack(stack).toJSON().Resources ?? {}).length,
    ]),
  );
}

/**
 * Every route adds a method and often resources; every function a role, alarms, an alias and a deployment group.
 * The API's methods and resources live in nested stacks (lib/constructs/api-routes.ts) so no stack nears the limit.
 * Bundling is skipped: it changes no resource count.
 */
describe.each(['dev', 'prod'] as const)('stack sizes of the %s app', (stage) => {
  let built: SynthesizedApp;

  beforeAll(() => {
    built = synthesize(stage, { 'aws:cdk:bundling-stacks': [], waf: 'true', alarmEmail: 'ops@example.com' });
  }, 180_000);

  afterAll(() => built?.cleanup());

  it(`keeps every stack and nested stack under ${MARGIN_LIMIT} resources (CloudFormation allows ${CLOUDFORMATION_LIMIT})`, () => {
    const counts = resourceCounts(built);
    const report = [...counts].map(([path, count]) => `${path}: ${count} (${MARGIN_LIMIT - count} to spare)`);
    console.info(`CloudFormation resources per stack (${stage}):\n  ${report.join('\n  ')}`);
    expect(counts.size).toBeGreaterThan(3);
    expect([...counts].filter(([, count]) => count > MARGIN_LIMIT).map(([path, count]) => `${path}: ${count}`)).toEqual(
      [],
    );
  });

  it('puts the API resources and methods in nested stacks, keeping only the root in the API stack', () => {
    const methods = built.apiTemplate.findResources('AWS::ApiGateway::Method');
    const resources = built.apiTemplate.findResources('AWS::ApiGateway::Resource');
    // "/" (its routes and wrong-method answer) and "/{proxy+}": a constant, whatever the route table holds.
    expect(Object.keys(methods).length).toBeLessThanOrEqual(4);
    expect(Object.values(resources).map((r) => r.Properties.PathPart)).toEqual(['{proxy+}']);
    expect(Object.keys(built.apiWithRoutesTemplate.findResources('AWS::ApiGateway::Method')).length).toBeGreaterThan(
      Object.keys(methods).length * 10,
    );
  });
});

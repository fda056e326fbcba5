import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestedStack, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type ChargeRecordsApp } from '#lib/app';
import { PROJECT_ROOT } from '#lib/constructs/app-function';
import type { FunctionId } from '#platform/routes';
import type { StageName } from '#lib/stage-config';

/** The context `cdk synth` gets from cdk.json, so the tests see the same feature flags. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/** The context prod refuses to synthesise without (lib/stage-config.ts PROD_REQUIRED_CONTEXT), as CI passes it. */
export const PROD_CONTEXT = {
  alarmEmail: 'ops@example.com',
  reportsSender: 'example.com',
  apiBaseUrl: 'https://api.example.com/v1',
} as const;

export interface SynthesizedApp extends ChargeRecordsApp {
  readonly dataTemplate: Template;
  readonly apiTemplate: Template;
  /**
   * The API stack with its nested stacks' resources (the API's resources and methods, lib/constructs/api-routes.ts)
   * merged in, each parameter replaced by what the parent passes: Refs read as if everything were one template.
   */
  readonly apiWithRoutesTemplate: Template;
  readonly outdir: string;
  cleanup(): void;
}

/**
 * Builds and synthesizes the real app (esbuild bundling included, cdk-nag plugins included) into a
 * temporary cloud assembly. Slow: call it once per test file, in `beforeAll`.
 */
export function synthesize(stage: StageName, extraContext: Record<string, unknown> = {}): SynthesizedApp {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-test-'));
  const required = stage === 'prod' ? PROD_CONTEXT : {};
  const built = buildApp({ outdir, context: { ...cdkJsonContext(), stage, ...required, ...extraContext } });
  // Throws when a validation plugin (cdk-nag) reports an unacknowledged finding.
  built.app.synth();
  return {
    ...built,
    outdir,
    dataTemplate: Template.fromStack(built.data),
    apiTemplate: Template.fromStack(built.api),
    apiWithRoutesTemplate: withNestedStacks(built.api),
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/** Every nested stack below a stack (not below its nested stacks). */
export function nestedStacksOf(stack: Stack): NestedStack[] {
  return stack.node
    .findAll()
    .filter((c): c is NestedStack => NestedStack.isNestedStack(c) && c.nestedStackParent === stack);
}

/** A stack's template with its nested stacks' resources merged in, their parameters replaced by the parent's values. */
export function withNestedStacks(stack: Stack): Template {
  // A copy: toJSON() hands out the cloud assembly's own cached template.
  const merged = structuredClone(Template.fromStack(stack).toJSON()) as { Resources: Record<string, unknown> };
  for (const nested of nestedStacksOf(stack)) {
    const nestedResource = merged.Resources[stack.getLogicalId(nested.nestedStackResource as CfnElement)] as {
      Properties: { Parameters?: Record<string, unknown> };
    };
    const parameters = nestedResource.Properties.Parameters ?? {};
    const substitute = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(substitute);
      if (value && typeof value === 'object') {
        const ref = (value as { Ref?: unknown }).Ref;
        if (typeof ref === 'string' && Object.keys(value).length === 1 && ref in parameters) return parameters[ref];
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v)]));
      }
      return value;
    };
    const resources = (withNestedStacks(nested).toJSON() as { Resources: Record<string, unknown> }).Resources;
    for (const [logicalId, resource] of Object.entries(resources)) {
      if (logicalId in merged.Resources)
        throw new Error(`${logicalId} is in ${stack.node.path} and ${nested.node.path}`);
      merged.Resources[logicalId] = substitute(resource);
    }
  }
  return Template.fromJSON(merged);
}

/** The logical id of a function of the API stack. */
export function functionLogicalId(built: ChargeRecordsApp, functionId: FunctionId): string {
  return built.api.getLogicalId(built.api.fn(functionId).node.defaultChild as CfnElement);
}

/**
 * The cloud-assembly directory of a function's bundled code (`asset.<hash>`, its S3Key without `.zip`): `index.mjs`,
 * `index.mjs.map` and esbuild's `index.meta.json`. Only with bundling (not with `aws:cdk:bundling-stacks: []`).
 */
export function functionAssetDir(built: SynthesizedApp, functionId: FunctionId): string {
  const fn = built.apiTemplate.findResources('AWS::Lambda::Function')[functionLogicalId(built, functionId)];
  const key = String((fn?.Properties as { Code?: { S3Key?: unknown } } | undefined)?.Code?.S3Key).replace(/\.zip$/, '');
  const dir = join(built.outdir, `asset.${key}`);
  if (!existsSync(join(dir, 'index.mjs'))) throw new Error(`No bundle of ${functionId} at ${dir}`);
  return dir;
}

type CfnResource = { Type: string; Properties?: Record<string, unknown> };

/**
 * API Gateway resource paths by logical id, rebuilt from the template's PathPart/ParentId chain
 * ("/" is the API's root resource).
 */
export function resourcePathsByLogicalId(template: Template): Map<string, string> {
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  const paths = new Map<string, string>();
  const pathOf = (logicalId: string): string => {
    const known = paths.get(logicalId);
    if (known) return known;
    const props = resources[logicalId]?.Properties ?? {};
    const parent = props.ParentId as { Ref?: string } | undefined;
    const parentPath = parent?.Ref ? pathOf(parent.Ref) : '';
    const path = `${parentPath}/${String(props.PathPart)}`;
    paths.set(logicalId, path);
    return path;
  };
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::ApiGateway::Resource') pathOf(logicalId);
  }
  return paths;
}

/** The `ResourceId` a method on `path` must have. */
export function resourceIdFor(template: Template, path: string): unknown {
  if (path === '/') {
    const [apiId] = Object.keys(template.findResources('AWS::ApiGateway::RestApi'));
    return { 'Fn::GetAtt': [apiId, 'RootResourceId'] };
  }
  for (const [logicalId, resourcePath] of resourcePathsByLogicalId(template)) {
    if (resourcePath === path) return { Ref: logicalId };
  }
  throw new Error(`No API Gateway resource for ${path}`);
}

import { createHash } from 'node:crypto';
import { NestedStack, Validations } from 'aws-cdk-lib';
import {
  AuthorizationType,
  AwsIntegration,
  RestApi,
  type IAuthorizer,
  type IResource,
  type MethodOptions,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { PROXY_PATH, ROUTES, isPublicPath, type FunctionId, type RouteDefinition } from '#platform/routes';

/**
 * A Lambda proxy integration that grants nothing: the API stack gives each function one invoke permission for the
 * whole API (lib/api-stack.ts), so methods in nested stacks add no permission of their own per stack.
 */
export class LambdaProxyIntegration extends AwsIntegration {
  constructor(handler: IFunction) {
    super({ proxy: true, service: 'lambda', path: `2015-03-31/functions/${handler.functionArn}/invocations` });
  }
}

/** Every resource path the routes need, with all their ancestors (root excluded), sorted. */
export function resourcePaths(routes: readonly RouteDefinition[] = ROUTES): string[] {
  const paths = new Set<string>();
  for (const route of routes) {
    const segments = route.path.split('/').filter(Boolean);
    for (let i = 1; i <= segments.length; i++) paths.add(`/${segments.slice(0, i).join('/')}`);
  }
  return [...paths].sort();
}

/** The first segment of a resource path ("" for the root): one nested stack holds each such subtree. */
export const topSegment = (path: string) => path.split('/')[1] ?? '';

/**
 * The route table's shape as API Gateway sees it: salts the deployment's logical id, so any added, moved or
 * re-protected route makes a new deployment (methods live in nested stacks, which CDK's own hashing cannot see).
 */
export function routeTableHash(extra: unknown = null): string {
  const routes = ROUTES.map((r) => [r.method, r.path, r.function, r.access === 'public' ? 'public' : 'custom']);
  return createHash('sha256').update(JSON.stringify({ routes, extra })).digest('hex').slice(0, 16);
}

export interface RouteMethodsProps {
  /** The resource paths to serve here (the root "/" or one top-level subtree). */
  readonly paths: readonly string[];
  readonly integration: (functionId: FunctionId) => AwsIntegration;
  readonly authorizer: IAuthorizer;
}

/**
 * Adds the routes on `paths` below `root`: each route's method, an `ANY` answering wrong methods through the
 * fallback (405 + Allow), and a `{proxy+}` catch-all (404) under every resource without a path-variable child.
 * Anonymous callers meet the authorizer first unless every route on the path is public.
 */
export function addRouteMethods(root: IResource, props: RouteMethodsProps): void {
  const publicMethod: MethodOptions = { authorizationType: AuthorizationType.NONE };
  const protectedMethod: MethodOptions = {
    authorizationType: AuthorizationType.CUSTOM,
    authorizer: props.authorizer,
  };
  const all = ['/', ...resourcePaths()];
  const resources = new Map<string, IResource>(
    props.paths.map((path) => [path, path === '/' ? root : root.resourceForPath(path)]),
  );

  for (const route of ROUTES) {
    const resource = resources.get(route.path);
    if (!resource) continue; // another subtree's route
    const method = resource.addMethod(
      route.method,
      props.integration(route.function),
      route.access === 'public' ? publicMethod : protectedMethod,
    );
    if (route.access === 'public') acknowledgePublic(method, `${route.method} ${route.path} is public by design.`);
  }

  const fallback = props.integration('fallback');
  for (const [path, resource] of resources) {
    const open = isPublicPath(path);
    const any = resource.addMethod('ANY', fallback, open ? publicMethod : protectedMethod);
    if (open) acknowledgePublic(any, `Wrong-method answers on the public path ${path} need no token either.`);
  }

  // API Gateway does not backtrack to a shallower {proxy+} once a segment matched, so every resource without a
  // path variable child gets its own catch-all.
  const proxyPart = PROXY_PATH.slice(1);
  for (const [path, resource] of resources) {
    const prefix = path === '/' ? '/' : `${path}/`;
    const hasVariableChild = all.some(
      (other) =>
        other.startsWith(prefix) &&
        !other.slice(prefix.length).includes('/') &&
        other.slice(prefix.length).startsWith('{'),
    );
    if (hasVariableChild) continue;
    resource.addResource(proxyPart).addMethod('ANY', fallback, protectedMethod);
  }
}

export interface ApiRoutesProps {
  readonly restApiId: string;
  readonly rootResourceId: string;
  /** The top-level path segment whose subtree this stack holds, e.g. "charges" for /charges/…. */
  readonly segment: string;
  readonly handler: (functionId: FunctionId) => IFunction;
  readonly authorizer: IAuthorizer;
}

/**
 * The resources and methods of one top-level path (`/<segment>` and everything below it) on the API stack's REST
 * API, in a nested stack of their own: methods and resources grow with every route, and CloudFormation allows
 * 500 resources per stack (CDK's "breaking up methods and resources across stacks").
 */
export class ApiRoutes extends NestedStack {
  readonly paths: readonly string[];

  constructor(scope: Construct, id: string, props: ApiRoutesProps) {
    super(scope, id, { description: `Routes under /${props.segment}` });
    const api = RestApi.fromRestApiAttributes(this, 'Api', {
      restApiId: props.restApiId,
      rootResourceId: props.rootResourceId,
    });
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'The Lambda REQUEST authorizer verifies our own KMS-signed JWTs; there is no Cognito pool.',
    });
    this.paths = resourcePaths().filter((path) => topSegment(path) === props.segment);
    const integrations = new Map<FunctionId, AwsIntegration>();
    addRouteMethods(api.root, {
      paths: this.paths,
      authorizer: props.authorizer,
      integration: (functionId) => {
        let found = integrations.get(functionId);
        if (!found) {
          found = new LambdaProxyIntegration(props.handler(functionId));
          integrations.set(functionId, found);
        }
        return found;
      },
    });
  }
}

function acknowledgePublic(method: Construct, reason: string): void {
  Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason });
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as CloudFrontFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  OriginSslPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { CONSOLE_CSP } from '#local/console';
import { PROJECT_ROOT } from './app-function';

/** Where `npm run build` (vite) puts the console. */
export const CONSOLE_BUILD_DIR = join(PROJECT_ROOT, 'console', 'dist');
/**
 * Deployed instead when there is no build (a synth in CI before the console is built, the CDK tests): one static
 * page saying so. Synth never builds the console itself — it stays offline and needs no Docker.
 */
export const CONSOLE_PLACEHOLDER_DIR = join(PROJECT_ROOT, 'lib', 'console-placeholder');

/** The console's build, or the placeholder when there is none. */
export function consoleSourceDir(buildDir = CONSOLE_BUILD_DIR): string {
  return existsSync(join(buildDir, 'index.html')) ? buildDir : CONSOLE_PLACEHOLDER_DIR;
}

/**
 * The console's Content-Security-Policy in AWS is the one the local server sends and the browser tests run under
 * (`local/console.ts`): scripts only from this origin, no inline script, no framing.
 */
export { CONSOLE_CSP };

/**
 * The API behind the distribution sees API Gateway's Host, not the viewer's: the viewer's goes along as
 * X-Forwarded-Host, so the SSO flow can send browsers back to this origin (CONSOLE_BASE_URL, when set, wins).
 */
const FORWARD_HOST = `function handler(event) {
  var request = event.request;
  request.headers['x-forwarded-host'] = { value: request.headers.host ? request.headers.host.value : '' };
  return request;
}`;

const SPA_FALLBACK = `function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last === '' || last.indexOf('.') === -1) request.uri = '/console/index.html';
  return request;
}`;

export interface ConsoleHostingProps {
  /** The REST API: the distribution's default origin, at its stage. */
  readonly api: IRestApi;
  readonly stageName: string;
  readonly removalPolicy: RemovalPolicy;
  /** The directory to deploy under `/console/`; default: the build, or the placeholder. */
  readonly sourceDir?: string;
}

/**
 * The browser console in AWS: its build in a private S3 bucket, served by CloudFront through origin access
 * control, and the API behind the same distribution as its default origin — so console and API share one origin:
 * the refresh cookie (`SameSite=Strict`, `Path=/auth`) and the console's `connect-src 'self'` need nothing more.
 *
 * - `/console/*` → the bucket (cached; security headers with a strict CSP; SPA fallback to `index.html`);
 * - everything else → API Gateway's stage (origin path `/v{n}`), never cached, every viewer header but Host
 *   (Authorization, Cookie, X-Requested-With…) and the query string forwarded; `GET /` redirects to `/console/`.
 */
export class ConsoleHosting extends Construct {
  readonly bucket: Bucket;
  readonly logsBucket: Bucket;
  readonly distribution: Distribution;
  /** `https://<distribution domain>`: the origin of console and API. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ConsoleHostingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const autoDelete = props.removalPolicy === RemovalPolicy.DESTROY;

    // S3 server access logs and CloudFront standard logs: CloudFront's delivery still needs ACLs on the bucket.
    this.logsBucket = new Bucket(this, 'Logs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.OBJECT_WRITER,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: autoDelete,
    });
    Validations.of(this.logsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: "This is the console's log bucket (its own and CloudFront's logs); logging it into itself would loop.",
    });

    this.bucket = new Bucket(this, 'Files', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      serverAccessLogsBucket: this.logsBucket,
      serverAccessLogsPrefix: 'console-bucket/',
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: autoDelete,
    });

    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Console: strict CSP, HSTS, no framing, no sniffing, no referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: CONSOLE_CSP, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
      removeHeaders: ['Server'],
    });

    const spaFallback = new CloudFrontFunction(this, 'SpaFallback', {
      code: FunctionCode.fromInline(SPA_FALLBACK),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'Console routes answer index.html',
    });

    const forwardHost = new CloudFrontFunction(this, 'ForwardHost', {
      code: FunctionCode.fromInline(FORWARD_HOST),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'Passes the viewer Host to the API as X-Forwarded-Host',
    });

    // The API by its regional execute-api host and the stage as origin path (CloudFront adds the prefix).
    const apiOrigin = new HttpOrigin(`${props.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}`, {
      originPath: `/${props.stageName}`,
      protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [OriginSslPolicy.TLS_V1_2],
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Charge Records console and API',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
      enableLogging: true,
      logBucket: this.logsBucket,
      logFilePrefix: 'cloudfront/',
      defaultBehavior: {
        origin: apiOrigin,
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_ALL,
        // Answers are per caller (tokens, cookies): never cached, every header the API reads passed on.
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        functionAssociations: [{ function: forwardHost, eventType: FunctionEventType.VIEWER_REQUEST }],
        compress: true,
      },
      additionalBehaviors: {
        '/console/*': {
          origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
          viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
          cachePolicy: CachePolicy.CACHING_OPTIMIZED,
          responseHeadersPolicy: headers,
          functionAssociations: [{ function: spaFallback, eventType: FunctionEventType.VIEWER_REQUEST }],
          compress: true,
        },
      },
    });
    this.url = `https://${this.distribution.distributionDomainName}`;

    const deployment = new BucketDeployment(this, 'Deploy', {
      sources: [Source.asset(props.sourceDir ?? consoleSourceDir())],
      destinationBucket: this.bucket,
      destinationKeyPrefix: 'console/',
      // Revalidated on every use: a deploy is seen at once (file names of the build's assets change anyway).
      cacheControl: [CacheControl.fromString('no-cache')],
      distribution: this.distribution,
      distributionPaths: ['/console/*'],
      memoryLimit: 256,
    });
    this.acknowledgeFindings(deployment);
  }

  private acknowledgeFindings(deployment: BucketDeployment): void {
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'QA staff sign in from wherever the company works; access is decided by authentication, not country.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'A CloudFront web ACL must live in us-east-1; the API behind it has the optional regional WAF and its own ' +
          'rate limits, throttling and lockout.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate cannot pin TLS 1.2 as the viewer minimum; a stage with a custom ' +
          'domain and its certificate gets TLSv1.2_2021 (set here).',
      },
    );
    // The CDK-provided deployment function, a singleton at stack level, copies the build into the bucket.
    const stack = Stack.of(this);
    const handlers = stack.node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    for (const scope of [deployment, ...handlers]) this.acknowledgeDeploymentFunction(scope);
    for (const handler of handlers) this.acknowledgeDeploymentGrants(handler);
  }

  /**
   * The grants BucketDeployment makes, acknowledged on its function's role policy alone: read its asset from the CDK
   * asset bucket, replace `console/*` in this one bucket, and invalidate this distribution (CloudFront invalidations
   * have no resource-level permissions).
   */
  private acknowledgeDeploymentGrants(handler: Construct): void {
    const policy = handler.node.tryFindChild('ServiceRole')?.node.tryFindChild('DefaultPolicy');
    if (!policy) throw new Error(`ConsoleHosting: ${handler.node.path} has no role policy to acknowledge findings on`);
    const stack = Stack.of(this);
    // As cdk-nag renders it: partition, account and region literally when the stack pins them.
    const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    Validations.of(policy).acknowledge(
      ...[
        'Action::s3:GetObject*',
        'Action::s3:GetBucket*',
        'Action::s3:List*',
        'Action::s3:DeleteObject*',
        'Action::s3:Abort*',
        `Resource::arn:${partition}:s3:::cdk-hnb659fds-assets-${account}-${region}/*`,
        `Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/*`,
        'Resource::*',
      ].map((finding) => ({
        id: `AwsSolutions-IAM5[${finding}]`,
        reason:
          'CDK’s BucketDeployment function must read the asset bucket’s objects, write and delete this bucket’s ' +
          'objects, and invalidate this distribution.',
      })),
    );
  }

  private acknowledgeDeploymentFunction(scope: Construct): void {
    Validations.of(scope).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'CDK’s BucketDeployment function writes its logs with AWSLambdaBasicExecutionRole.',
      },
      { id: 'AwsSolutions-L1', reason: 'CDK pins the BucketDeployment function’s runtime.' },
      { id: 'Serverless-LambdaTracing', reason: 'A deploy-time copy function of CDK; nothing to trace.' },
      { id: 'Serverless-LambdaDLQ', reason: 'Invoked synchronously by CloudFormation, which reports its failure.' },
      {
        id: 'Serverless-LambdaDefaultMemorySize',
        reason: 'Set explicitly (256 MB) on the deployment; the rule reads the shared provider.',
      },
      { id: 'Serverless-LambdaLatestVersion', reason: 'CDK pins the BucketDeployment function’s runtime.' },
    );
  }
}

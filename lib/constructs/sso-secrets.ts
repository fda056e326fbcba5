import { ArnFormat, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { parseOidcProviders } from '#auth/oidc';

/**
 * Lets the function that completes SSO sign-ins read the client secrets OIDC_PROVIDERS names (`clientSecretRef`),
 * those and nothing else. A name matches the secret's ARN with Secrets Manager's six-character suffix; an ARN is
 * used as given. The secrets themselves are made outside this app (the IdP issues them).
 */
export function grantSsoClientSecrets(fn: IFunction, oidcProviders: string | undefined): void {
  if (!oidcProviders) return;
  const stack = Stack.of(fn);
  const arns = parseOidcProviders(oidcProviders)
    .map((provider) => provider.clientSecretRef)
    .filter((ref): ref is string => ref !== undefined)
    .map((ref) =>
      ref.startsWith('arn:')
        ? ref
        : stack.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: `${ref}-??????`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
    );
  if (arns.length === 0) return;
  fn.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: arns }));
}

import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Bundled in place of the SDK's default credential chain (an esbuild alias set by the CDK function construct):
 * in Lambda the role's credentials are always in the environment, and the chain's SSO, STS, profile and
 * container providers would only weigh on every cold start. The local runtime is not bundled and keeps the
 * full chain.
 */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);

import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

/**
 * Lambda REQUEST authorizer. Until token verification lands (issue "Authentication"), it denies
 * every request the way API Gateway expects: throwing `Unauthorized` makes the gateway answer 401.
 */
export async function handler(_event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  throw new Error('Unauthorized');
}

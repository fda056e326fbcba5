import createClient, { type Client } from 'openapi-fetch';
import type { paths } from '#platform/openapi/api-types';

/**
 * A typed client of the API (openapi-fetch over the types `npm run openapi` generates from the OpenAPI document):
 * paths, parameters, bodies and answers are checked by the compiler, so a caller and the API cannot disagree.
 */
export type ApiClient = Client<paths>;

export function apiClient(baseUrl: string, accessToken?: string): ApiClient {
  return createClient<paths>({
    baseUrl,
    headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {},
  });
}

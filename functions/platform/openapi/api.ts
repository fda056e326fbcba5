import { publicBaseUrl } from '#platform/http/base-url';
import { httpHandler } from '#platform/http/handler';
import { JSON_CONTENT_TYPE } from '#platform/http/headers';
import { defineRoutes, route } from '#platform/http/router';
import { OPENAPI_DOCUMENT } from './document';
import { OpenApiDocumentBody } from './model';
import { REFERENCE_PAGE_CSP, renderReferencePage } from './reference-page';

/**
 * The API's own description: the generated OpenAPI document, and a reference page rendered from it. The document's
 * first server is the base URL this request came in on, so a client that imports it by URL calls this deployment.
 */

let page: string | undefined;
let served: { base: string; text: string } | undefined;

function documentFor(base: string): string {
  // One cached text: a deployment is called under one base URL, and a changed Host just renders again.
  if (served?.base !== base) {
    const servers = [{ url: base, description: 'This deployment' }];
    served = { base, text: JSON.stringify({ ...OPENAPI_DOCUMENT, servers }) };
  }
  return served.text;
}

export const routes = defineRoutes({
  'GET /': route({
    doc: {
      summary: 'The console',
      description: 'Redirects a browser to the console at `/console/`, on the same origin as the API.',
      responses: [{ status: 302, description: 'To the console', headers: ['Location'] }],
    },
    // Relative: the console shares the API's origin (CloudFront in AWS, the local server locally).
    run: () => ({ statusCode: 302, headers: { Location: '/console/' } }),
  }),

  'GET /openapi.json': route({
    doc: {
      summary: 'This API described (OpenAPI 3.1)',
      description:
        'The document this page and the typed client are generated from. Import it into Postman or Insomnia by ' +
        'this URL; its first server is the base URL it was fetched from.',
      responses: [{ status: 200, description: 'The OpenAPI document', body: OpenApiDocumentBody }],
    },
    run: (ctx) => ({
      statusCode: 200,
      raw: { contentType: JSON_CONTENT_TYPE, data: documentFor(publicBaseUrl(ctx.event)) },
    }),
  }),

  'GET /docs': route({
    doc: {
      summary: 'API reference page',
      description: 'Every route, parameter, body and answer of this API, as one HTML page without scripts.',
      responses: [{ status: 200, description: 'The reference page', files: ['text/html'] }],
    },
    run: () => ({
      statusCode: 200,
      raw: { contentType: 'text/html; charset=utf-8', data: (page ??= renderReferencePage(OPENAPI_DOCUMENT)) },
      headers: { 'Content-Security-Policy': REFERENCE_PAGE_CSP },
    }),
  }),
});

export const handler = httpHandler(routes);

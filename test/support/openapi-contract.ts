import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { OPENAPI_DOCUMENT } from '#platform/openapi/document';

/**
 * Every answer the tests receive, checked against the API's OpenAPI document: the status is one the route lists,
 * the headers it marks required are there and well-formed, and the body has the documented media type and shape.
 * A request no operation serves is checked against the document's `x-unmatched-requests` answers.
 */

type Json = Record<string, unknown>;

export interface ReceivedResponse {
  method: string;
  /** The request target as sent: path and query. */
  target: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

const doc = OPENAPI_DOCUMENT as unknown as Json;
const DOCUMENT_ID = 'openapi.json';
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, DOCUMENT_ID);

const validators = new Map<string, ValidateFunction>();
/** A validator for the schema at a JSON pointer of the document (its `$ref`s resolve inside the document). */
function validatorAt(pointer: string): ValidateFunction {
  let validate = validators.get(pointer);
  if (!validate) {
    // A pointer in a URI fragment is percent-encoded (`{id}` in a path template is not a URI character).
    validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer.split('/').map(encodeURIComponent).join('/')}` });
    validators.set(pointer, validate);
  }
  return validate;
}

const escape = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
const asObject = (value: unknown): Json => (value && typeof value === 'object' ? (value as Json) : {});

/** A node of the document, with the pointer it really lives at once `$ref`s are followed. */
function at(pointer: string): { node: Json; pointer: string } {
  let node: unknown = doc;
  for (const key of pointer.split('/').slice(1)) node = asObject(node)[key.replace(/~1/g, '/').replace(/~0/g, '~')];
  const ref = asObject(node).$ref;
  return typeof ref === 'string' && ref.startsWith('#/') ? at(ref.slice(1)) : { node: asObject(node), pointer };
}

const paths = asObject(doc.paths);
/** Templates by specificity (static segments beat parameters), as API Gateway and the local server match them. */
const templates = Object.keys(paths)
  .map((path) => {
    const segments = path.split('/').filter(Boolean);
    return { path, segments, specificity: segments.filter((s) => !s.startsWith('{')).length };
  })
  .sort((a, b) => b.specificity - a.specificity);

function templateOf(pathname: string): string | undefined {
  const parts = pathname.split('/').filter(Boolean);
  return templates.find(
    (t) => t.segments.length === parts.length && t.segments.every((s, i) => s.startsWith('{') || s === parts[i]),
  )?.path;
}

/** Where the document says what this request may answer: an operation's responses, or the unmatched answers. */
function responsesFor(method: string, pathname: string): { pointer: string; what: string } {
  const template = templateOf(pathname);
  if (!template) return { pointer: '/x-unmatched-requests/unknownPath', what: `unknown path ${pathname}` };
  const operation = `/paths/${escape(template)}/${method.toLowerCase()}`;
  if (at(operation).node.responses) return { pointer: `${operation}/responses`, what: `${method} ${template}` };
  return { pointer: '/x-unmatched-requests/wrongMethod', what: `${method} on ${template}` };
}

function headerValue(headers: ReceivedResponse['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

const describeErrors = (validate: ValidateFunction) =>
  (validate.errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`)
    .join('; ');

/** Throws a ContractViolation naming every way the answer differs from the document. */
export function checkResponse(response: ReceivedResponse): void {
  const method = response.method.toUpperCase();
  const pathname = new URL(response.target, 'http://localhost').pathname;
  const { pointer, what } = responsesFor(method, pathname);
  const listed = at(pointer).node;
  const problems: string[] = [];
  const status = String(response.status);
  if (!(status in listed)) {
    throw new ContractViolation(
      `${what} answered ${status}, which the document does not list (it lists ${Object.keys(listed).join(', ')}): ` +
        response.text.slice(0, 300),
    );
  }
  const answer = at(`${pointer}/${status}`);

  for (const [name, raw] of Object.entries(asObject(answer.node.headers))) {
    const header = at(`${answer.pointer}/headers/${escape(name)}`);
    const value = headerValue(response.headers, name);
    if (value === undefined) {
      if (header.node.required === true || asObject(raw).required === true) problems.push(`header ${name} is missing`);
      continue;
    }
    const validate = validatorAt(`${header.pointer}/schema`);
    if (!validate(value)) problems.push(`header ${name}: ${JSON.stringify(value)} ${describeErrors(validate)}`);
  }

  const content = asObject(answer.node.content);
  const mediaTypes = Object.keys(content);
  const contentType = (headerValue(response.headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  // A HEAD answer has no body whatever its headers say.
  if (method !== 'HEAD') {
    if (mediaTypes.length === 0) {
      if (response.text !== '')
        problems.push(`a body was sent where none is documented: ${response.text.slice(0, 200)}`);
    } else if (!mediaTypes.includes(contentType)) {
      problems.push(`Content-Type ${contentType || '(none)'} is not one of ${mediaTypes.join(', ')}`);
    } else if (contentType === 'application/json') {
      const validate = validatorAt(`${answer.pointer}/content/application~1json/schema`);
      if (!validate(response.json)) {
        problems.push(`body: ${describeErrors(validate)} in ${response.text.slice(0, 300)}`);
      }
    }
  }
  if (problems.length > 0) throw new ContractViolation(`${what} → ${status}: ${problems.join('; ')}`);
}

/**
 * Every error answer in the API's own shape, `{ status, errors: [{ code, field, rule, message }] }`
 * (the shape of rejects and conflicts), never the framework's `{ statusCode, message }` (issue 13).
 * Covers what Nest and the body parser raise before a route runs: a body over the size cap (413,
 * with the cap), an unsupported charset (415), a body that is not JSON (400), an unknown route
 * (404). Errors a route answers itself never reach this filter. No Nest import here: the rule is
 * tested as plain code (api-errors.filter.ts applies it; http.in-process.spec.ts runs it in Nest).
 */

interface BodyParserError {
  status?: number;
  statusCode?: number;
  type?: string;
  limit?: number;
  length?: number;
  charset?: string;
  message?: string;
}

/**
 * The body of an HttpException that a route, a guard or a library built itself (the auth guard's
 * 401/403 in the API's shape, terminus's 503 health report): answered as it is, with its status.
 * Only Nest's own default bodies (`{ statusCode, message }`, e.g. an unknown route or the body
 * parser's 413) are rewritten into the API's shape by apiErrorOf.
 */
export function ownBody(error: unknown): { status: number; body: object } | null {
  const e = error as { getStatus?: () => number; getResponse?: () => unknown } | null;
  if (typeof e?.getStatus !== 'function' || typeof e.getResponse !== 'function') return null;
  const body = e.getResponse();
  if (typeof body !== 'object' || body === null) return null;
  if (typeof (body as { statusCode?: unknown }).statusCode === 'number') return null;
  return { status: e.getStatus(), body };
}

export interface ApiError {
  status: number;
  outcome: string;
  code: string;
  rule: string;
  message: string;
}

/** The API's answer to an error raised outside a route (pure: tested without a server). */
export function apiErrorOf(error: unknown, maxMessageBytes: number): ApiError {
  const e = (error ?? {}) as BodyParserError;
  // a Nest HttpException has getStatus(); a body-parser error has status and type
  const nest = error as { getStatus?: () => number } | null;
  const status =
    typeof nest?.getStatus === 'function' ? nest.getStatus() : (e.status ?? e.statusCode ?? 500);
  const type = e.type ?? '';
  if (status === 413 || type === 'entity.too.large') {
    const limit = e.limit ?? maxMessageBytes;
    return {
      status: 413,
      outcome: 'rejected',
      code: 'TOO_LARGE',
      rule: `a message is at most ${limit} bytes (MAX_MESSAGE_BYTES)`,
      message:
        e.length === undefined
          ? `the body is over the limit of ${limit} bytes`
          : `the body has ${e.length} bytes, over the limit of ${limit} bytes`,
    };
  }
  if (status === 415 || type === 'charset.unsupported' || type === 'encoding.unsupported') {
    return {
      status: 415,
      outcome: 'rejected',
      code: 'UNSUPPORTED_ENCODING',
      rule: 'a body in UTF-8, or in the charset its content-type or XML declaration names',
      message: e.charset ? `charset "${e.charset}" is not supported` : (e.message ?? 'unsupported'),
    };
  }
  if (type === 'entity.parse.failed') {
    return {
      status: 400,
      outcome: 'rejected',
      code: 'MALFORMED_JSON',
      rule: 'a JSON body must parse',
      message: e.message ?? 'the body is not valid JSON',
    };
  }
  if (status === 404) {
    return {
      status: 404,
      outcome: 'not-found',
      code: 'NOT_FOUND',
      rule: 'a route of contracts/openapi/gateway.v1.yaml',
      message: e.message ?? 'no such route',
    };
  }
  if (status >= 400 && status < 500) {
    return {
      status,
      outcome: 'rejected',
      code: 'BAD_REQUEST',
      rule: 'the request as contracts/openapi/gateway.v1.yaml describes it',
      message: e.message ?? 'bad request',
    };
  }
  return {
    status: 500,
    outcome: 'error',
    code: 'INTERNAL_ERROR',
    rule: 'the gateway could not answer; the log says why (by correlation id)',
    message: 'internal error',
  };
}

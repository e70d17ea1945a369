import { apiErrorOf, ownBody } from './api-errors';

/** what Nest's exceptions look like to the rule (Nest itself does not load in jest) */
const nest = (status: number, message: string) => ({ getStatus: () => status, message });

describe("errors raised before a route answer in the API's own shape", () => {
  it('a body over the cap is TOO_LARGE with the cap and, when known, the size', () => {
    expect(
      apiErrorOf({ type: 'entity.too.large', status: 413, limit: 65536, length: 70000 }, 1),
    ).toEqual({
      status: 413,
      outcome: 'rejected',
      code: 'TOO_LARGE',
      rule: 'a message is at most 65536 bytes (MAX_MESSAGE_BYTES)',
      message: 'the body has 70000 bytes, over the limit of 65536 bytes',
    });
    // Nest's own exception carries no limit: the configured cap is named
    expect(apiErrorOf(nest(413, 'Payload Too Large'), 4096).rule).toBe(
      'a message is at most 4096 bytes (MAX_MESSAGE_BYTES)',
    );
  });

  it('an unsupported charset is 415, a bad JSON body 400, an unknown route 404', () => {
    expect(
      apiErrorOf({ type: 'charset.unsupported', status: 415, charset: 'koi8' }, 1),
    ).toMatchObject({
      status: 415,
      code: 'UNSUPPORTED_ENCODING',
      message: 'charset "koi8" is not supported',
    });
    expect(apiErrorOf({ type: 'entity.parse.failed', status: 400 }, 1)).toMatchObject({
      status: 400,
      code: 'MALFORMED_JSON',
    });
    expect(apiErrorOf(nest(404, 'Cannot GET /x'), 1)).toMatchObject({
      status: 404,
      outcome: 'not-found',
      message: 'Cannot GET /x',
    });
  });

  it('anything else is a 500 that says nothing of the inside', () => {
    expect(apiErrorOf(new Error('password=secret'), 1)).toEqual({
      status: 500,
      outcome: 'error',
      code: 'INTERNAL_ERROR',
      rule: 'the gateway could not answer; the log says why (by correlation id)',
      message: 'internal error',
    });
  });

  it("passes a body built by a guard or a library through unchanged, Nest's default ones not", () => {
    const body = {
      status: 'unauthorized',
      errors: [{ code: 'UNKNOWN_TOKEN', field: 'authorization', rule: 'r', message: 'm' }],
    };
    const guard = { getStatus: () => 401, getResponse: () => body, message: 'Http Exception' };
    expect(ownBody(guard)).toEqual({ status: 401, body });
    // terminus's readiness report: a 503 that says which component is down
    const health = { status: 'error', details: { database: { status: 'down' } } };
    expect(ownBody({ getStatus: () => 503, getResponse: () => health })).toEqual({
      status: 503,
      body: health,
    });
    // Nest's own default body is rewritten by apiErrorOf
    const nestShaped = {
      getStatus: () => 404,
      getResponse: () => ({ statusCode: 404, message: 'Cannot GET /x' }),
    };
    expect(ownBody(nestShaped)).toBeNull();
  });
});

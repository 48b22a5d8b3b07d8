// The one table of Turnout error codes. The proxy's `x-turnout-error`, the API's JSON error and the
// CLI's exit code are all derived from it here, so adding a code without deciding those fails to compile.

export type ErrorCode =
  | 'dtab_syntax'
  | 'binding_depth'
  | 'binding_work'
  | 'unknown_namer'
  | 'invalid_address'
  | 'invalid_argument'
  | 'invalid_config'
  | 'invalid_lane'
  | 'invalid_product'
  | 'invalid_override'
  | 'baggage_malformed'
  | 'baggage_too_large'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'internal'
  | 'bad_request'
  | 'missing_context'
  | 'unknown_product'
  | 'unknown_service'
  | 'headers_too_large'
  | 'upstream_failed'
  | 'no_endpoints'
  | 'overloaded'
  | 'upstream_timeout'
  | 'upstream_unavailable'
  | 'shutting_down'
  | 'instance_start_failed'
  | 'request_timeout'
  | 'destination_refused'
  | 'payload_too_large'
  | 'too_many_streams'
  | 'range_not_satisfiable';

interface CodeInfo {
  /** HTTP status the API and the proxy answer with. */
  readonly status: number;
  /** Process exit code the CLI ends with (2 = bad input, 1 = failure). */
  readonly exit: number;
  /** What the code means, for docs and `--help`. */
  readonly summary: string;
}

export const ERROR_CODES: Readonly<Record<ErrorCode, CodeInfo>> = {
  dtab_syntax: {
    status: 400,
    exit: 2,
    summary: 'a path, name tree, dentry or dtab does not parse',
  },
  binding_depth: { status: 502, exit: 1, summary: 'delegation went deeper than the depth limit' },
  binding_work: { status: 502, exit: 1, summary: 'delegation needed more lookups than allowed' },
  unknown_namer: { status: 502, exit: 1, summary: 'a /$/ name refers to no built-in namer' },
  invalid_address: { status: 502, exit: 1, summary: 'a /$/inet name has no valid port' },
  invalid_argument: { status: 400, exit: 2, summary: 'a command or request argument is invalid' },
  invalid_config: { status: 400, exit: 2, summary: 'a configuration document fails validation' },
  invalid_lane: { status: 400, exit: 2, summary: 'a lane name is not a valid name' },
  invalid_product: { status: 400, exit: 2, summary: 'a product name is not a valid name' },
  invalid_override: { status: 400, exit: 2, summary: 'a signed routing override was rejected' },
  baggage_malformed: { status: 400, exit: 2, summary: 'the W3C baggage header is malformed' },
  baggage_too_large: { status: 431, exit: 2, summary: 'the W3C baggage header is over its limits' },
  not_found: { status: 404, exit: 1, summary: 'the named thing does not exist' },
  conflict: {
    status: 409,
    exit: 1,
    summary: "the request conflicts with the current state (a ticket's state, another ticket)",
  },
  unauthorized: {
    status: 401,
    exit: 2,
    summary: 'the API request carries no valid bearer token',
  },
  forbidden: { status: 403, exit: 1, summary: "the token's role may not do this" },
  internal: { status: 500, exit: 1, summary: 'an unexpected error; details are in the server log' },
  bad_request: {
    status: 400,
    exit: 2,
    summary: 'the request is malformed or ambiguous (smuggling guard)',
  },
  missing_context: {
    status: 400,
    exit: 2,
    summary: 'the request carries no product and the proxy cannot infer one',
  },
  unknown_product: { status: 404, exit: 1, summary: 'no product serves this host' },
  unknown_service: { status: 404, exit: 1, summary: 'the logical name routes nowhere' },
  headers_too_large: { status: 431, exit: 2, summary: 'request headers are over the size limit' },
  upstream_failed: {
    status: 502,
    exit: 1,
    summary: 'the upstream failed or answered nothing usable',
  },
  no_endpoints: {
    status: 503,
    exit: 1,
    summary: 'the name routes to a version with no ready endpoints',
  },
  overloaded: { status: 503, exit: 1, summary: 'every endpoint is at its pending-request limit' },
  upstream_unavailable: {
    status: 503,
    exit: 1,
    summary:
      'what this depends on cannot be reached: in the proxy, every attempt was answered 503 and no retry was left; in the CLI, the Turnout API or a --store Postgres',
  },
  upstream_timeout: { status: 504, exit: 1, summary: 'the upstream did not answer in time' },
  shutting_down: { status: 503, exit: 1, summary: 'the proxy is draining for shutdown' },
  instance_start_failed: {
    status: 500,
    exit: 1,
    summary: 'an instance could not be started (missing command, bad working directory, no port)',
  },
  request_timeout: {
    status: 408,
    exit: 2,
    summary: 'the client did not send its request head or body in time',
  },
  destination_refused: {
    status: 502,
    exit: 1,
    summary: "the route binds to one of the proxy's own listeners (admin, edge, outbound)",
  },
  payload_too_large: { status: 413, exit: 2, summary: 'the request body is over the size limit' },
  too_many_streams: {
    status: 503,
    exit: 1,
    summary: 'the token already holds as many /v1/stream and /v1/events streams as it may',
  },
  range_not_satisfiable: {
    status: 416,
    exit: 2,
    summary: "a download's Range is malformed, not one range, or outside the artifact",
  },
};

/** An error with a stable code (and the field it is about, when there is one). */
export class TurnoutError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'TurnoutError';
    this.code = code;
    this.field = field;
  }

  toJSON(): { code: ErrorCode; message: string; field?: string } {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

export function exitCodeOf(error: unknown): number {
  return error instanceof TurnoutError ? ERROR_CODES[error.code].exit : 1;
}

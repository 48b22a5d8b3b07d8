// The dashboard's one HTTP client for the control plane's /v1 API: the bearer token, JSON in and
// out, and every error answer mapped to an ApiError carrying the API's stable `code`.

const TOKEN_KEY = 'turnout.token';

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export function authHeaders(token = getToken()): Record<string, string> {
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

type Query = Record<string, string | number | boolean | undefined>;

function withQuery(path: string, query?: Query): string {
  if (query === undefined) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? path : `${path}?${s}`;
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as {
      error?: { code?: string; message?: string; field?: string };
    };
    const e = body.error;
    if (e?.code !== undefined)
      return new ApiError(res.status, e.code, e.message ?? e.code, e.field);
  } catch {
    // not JSON: fall through
  }
  return new ApiError(res.status, 'http', `${res.status} ${res.statusText}`);
}

export interface CallOptions {
  method?: 'GET' | 'POST';
  query?: Query;
  body?: unknown;
  token?: string | null;
}

/** Calls /v1`path`; answers the JSON body, throws ApiError on a non-2xx answer. */
export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...authHeaders(options.token === undefined ? getToken() : options.token),
  };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(withQuery(`/v1${path}`, options.query), {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch (error) {
    throw new ApiError(0, 'unreachable', `control plane unreachable: ${(error as Error).message}`);
  }
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Every page of a list endpoint (the dashboard's lists are small: products, modules, lanes). */
export async function all<T>(path: string, query: Query = {}): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await api<Page<T>>(path, { query: { ...query, limit: 1000, cursor } });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}

export type Role = 'viewer' | 'releaser' | 'admin';
export interface Whoami {
  name: string;
  role: Role;
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
export interface Product {
  name: string;
  org: string;
  hosts: string[];
  entry: string;
  retainTickets: number;
  baseDtab: string;
}
export interface Module {
  name: string;
  org: string;
  calls: string[];
}
export interface Lane {
  product: string;
  name: string;
  overlay: string;
  rules: unknown[];
}
export interface Item {
  module: string;
  version: string;
}
export interface Verdict {
  module: string;
  version: string;
  verdict: 'pass' | 'fail' | 'wait';
  reason: string;
  lane: { requests: number; errorRate: number; p99Ms: number | null };
  stable: { requests: number; errorRate: number; p99Ms: number | null };
  /** Per metric: the significance test and its decision (absent on verdicts from before them). */
  tests?: MetricTest[];
}
export interface MetricTest {
  metric: 'errors' | 'latency';
  test: 'fisher-exact' | 'two-proportion-z' | 'binomial' | 'mann-whitney-u';
  statistic: number;
  /** One-sided: the chance of a lane at least this much worse if it were like stable. */
  pValue: number;
  /** errors: lane − stable rate (0..1); latency: lane − stable median (ms). */
  effect: number | null;
  decision: 'pass' | 'fail' | 'not judged';
  /** The test, the statistic and the decision in words. */
  reason: string;
}
export interface Progress {
  level?: number;
  canaryStep?: number;
  stepStartedAt?: number;
  approvedStep?: number;
  canaryDone?: boolean;
  analysis?: Verdict[];
  message?: string;
  reclaimed?: boolean;
  /** Rolling: the batch in force (1-based) of `batches`, and old/new ready per module. */
  batch?: number;
  batches?: number;
  rollout?: { module: string; version: string; from: string | null; old: number; new: number }[];
}
export interface Plan {
  replicas?: number;
  strategy?: 'blue-green' | 'rolling';
  maxUnavailable?: number | string;
  prereleaseHeader?: string;
  canary?: {
    steps: number[];
    pauseMs: number | null;
    key?: { header?: string; cookie?: string };
  } | null;
}
export interface Ticket {
  id: number;
  product: string;
  state: string;
  items: Item[];
  revertOf: number | null;
  createdBy: string;
  goal: string | null;
  plan: Plan;
  progress: Progress;
  promotedSeq: number | null;
  /** The pre-release header's value: random per ticket, rotatable. */
  prereleaseSecret: string;
  createdAt: string;
  updatedAt: string;
}
export interface TicketEvent {
  ticketId: number;
  seq: number;
  type: string;
  data: Record<string, unknown>;
  actor: string;
  at: string;
}
export interface Instance {
  id: string;
  module: string;
  version: string;
  host: string;
  address: string;
  state: string;
  health: string;
  weight: number;
  /** Whether proxies send it requests now: the server's one definition (src/store/endpoint.ts). */
  serving: boolean;
  /** Requests the proxies have under way to it (absent without traffic stats). */
  inFlight?: number;
  updatedAt: string;
}
export interface AuditEntry {
  id: number;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  at: string;
}
export interface Summary {
  requests: number;
  errors: number;
  errorRate: number;
  rps: number;
  p50Ms: number | null;
  p99Ms: number | null;
}
export interface TrafficKey {
  product: string;
  lane: string;
  module: string;
  version: string;
}
export interface Traffic {
  windowMs: number;
  atMs: number;
  total: Summary;
  keys: { key: TrafficKey; summary: Summary }[];
}
export interface Series {
  bucketMs: number;
  points: (Summary & { atMs: number })[];
}
export interface Version {
  module: string;
  version: string;
  createdAt: string;
}

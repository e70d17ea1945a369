/**
 * The store's state as the process sees it: up, or down with a reason and since when. A query that
 * fails with a connection-class error sets it down; the background probe of `PgDb` (a `SELECT 1`,
 * retried with back-off) sets it up again. While it is down, `Db` calls fail at once with
 * `StoreUnavailableError` instead of waiting on a dead server, the Kafka consumers wait for
 * `whenUp()` instead of turning messages into rejects, and HTTP answers 503 (docs/adr/0010).
 *
 * Pure: no driver, no timer of its own; the clock is a parameter.
 */

export type StoreState =
  { status: 'up'; since: Date } | { status: 'down'; reason: string; since: Date };

/** A transaction or query refused because the store is down (or went down under it). */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(
    readonly reason: string,
    readonly since: Date,
    options?: { cause?: unknown },
  ) {
    super(`the database is unavailable: ${reason}`, options);
    this.name = 'StoreUnavailableError';
  }
}

/** True for a StoreUnavailableError anywhere in the error's cause chain. */
export function isStoreUnavailable(error: unknown): error is StoreUnavailableError {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e instanceof StoreUnavailableError) return true;
    e = e.cause;
  }
  return false;
}

/**
 * SQLSTATEs that say the connection or the server is gone, not that the statement was wrong:
 * class 08 (connection exception), 57P01 admin_shutdown (restart, pg_terminate_backend),
 * 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up / shutting down).
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
const SQLSTATE_DOWN = /^(08...|57P0[123])$/;
/** Socket errors from Node while connecting or talking to the server. */
const SOCKET_DOWN = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** node-postgres and pg-pool raise these as plain Errors without a code. */
const DRIVER_DOWN =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Query read timeout|Connection ended unexpectedly/i;

/** Whether an error means "the store cannot be reached" (as opposed to a bad statement). */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof StoreUnavailableError) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (SQLSTATE_DOWN.test(code) || SOCKET_DOWN.has(code))) return true;
  if (error instanceof AggregateError && error.errors.some((e) => isConnectionError(e)))
    return true;
  return DRIVER_DOWN.test(error.message);
}

/** A short reason for the state: the SQLSTATE or socket code and the driver's message. */
export function describeConnectionError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const message =
    error.message !== ''
      ? error.message
      : error instanceof AggregateError
        ? error.errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')
        : error.name;
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** The wait before retry number `attempt` (1, 2, …): initialMs doubled each time, capped at maxMs. */
export function backoffDelay(attempt: number, { initialMs, maxMs }: Backoff): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  return Math.min(maxMs, initialMs * 2 ** exponent);
}

export class StoreHealth {
  private current: StoreState;
  private readonly listeners = new Set<(state: StoreState) => void>();
  private waiters: Array<() => void> = [];

  constructor(now: Date = new Date()) {
    this.current = { status: 'up', since: now };
  }

  get state(): StoreState {
    return this.current;
  }

  get up(): boolean {
    return this.current.status === 'up';
  }

  /** Marks the store down; an outage already under way keeps its start and takes the new reason. */
  markDown(reason: string, now: Date = new Date()): void {
    if (this.current.status === 'down') {
      this.current = { status: 'down', reason, since: this.current.since };
      return;
    }
    this.current = { status: 'down', reason, since: now };
    this.emit();
  }

  markUp(now: Date = new Date()): void {
    if (this.current.status === 'up') return;
    this.current = { status: 'up', since: now };
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    this.emit();
  }

  /** The error a call refused during an outage throws. */
  unavailable(cause?: unknown): StoreUnavailableError {
    const s = this.current;
    const reason = s.status === 'down' ? s.reason : describeConnectionError(cause);
    return new StoreUnavailableError(reason, s.since, cause === undefined ? undefined : { cause });
  }

  /** Called on every transition (up → down, down → up), not on a new reason during an outage. */
  onChange(listener: (state: StoreState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when the store is up (at once if it is); rejects with the signal's reason. */
  whenUp(signal?: AbortSignal): Promise<void> {
    if (this.up) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(abortReason(signal));
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private emit(): void {
    for (const listener of this.listeners) listener(this.current);
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}

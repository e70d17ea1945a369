import {
  backoffDelay,
  describeConnectionError,
  isConnectionError,
  isStoreUnavailable,
  StoreHealth,
  StoreUnavailableError,
} from './store-health';

const at = (s: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

function pgError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('store state', () => {
  it('goes down with a reason and the time, keeps the start of an outage, and comes back up', () => {
    const h = new StoreHealth(at(0));
    const changes: string[] = [];
    h.onChange((s) => changes.push(s.status));
    expect(h.state).toEqual({ status: 'up', since: at(0) });

    h.markDown('57P01 terminating connection due to administrator command', at(5));
    h.markDown('ECONNREFUSED connect ECONNREFUSED 127.0.0.1:55433', at(7));
    expect(h.state).toEqual({
      status: 'down',
      reason: 'ECONNREFUSED connect ECONNREFUSED 127.0.0.1:55433',
      since: at(5),
    });
    h.markUp(at(30));
    h.markUp(at(31));
    expect(h.state).toEqual({ status: 'up', since: at(30) });
    expect(changes).toEqual(['down', 'up']); // transitions only: a new reason is not a change
  });

  it('wakes the waiters when it is up again, and rejects a waiter whose signal fires', async () => {
    const h = new StoreHealth(at(0));
    await expect(h.whenUp()).resolves.toBeUndefined();
    h.markDown('gone', at(1));
    let woke = false;
    const waiting = h.whenUp().then(() => (woke = true));
    const abort = new AbortController();
    const abandoned = h.whenUp(abort.signal);
    abort.abort(new Error('consumer stopping'));
    await expect(abandoned).rejects.toThrow('consumer stopping');
    await Promise.resolve();
    expect(woke).toBe(false);
    h.markUp(at(2));
    await waiting;
    expect(woke).toBe(true);
  });

  it('refuses with a typed error that carries the reason and the start of the outage', () => {
    const h = new StoreHealth(at(0));
    h.markDown('57P01 terminating connection', at(3));
    const e = h.unavailable();
    expect(e).toBeInstanceOf(StoreUnavailableError);
    expect(e).toMatchObject({ code: 'STORE_UNAVAILABLE', reason: '57P01 terminating connection' });
    expect(e.since).toEqual(at(3));
    expect(isStoreUnavailable(new Error('wrapped', { cause: e }))).toBe(true);
    expect(isStoreUnavailable(new Error('a bug'))).toBe(false);
  });
});

describe('connection-class errors', () => {
  it.each([
    [
      '57P01 restart or pg_terminate_backend',
      pgError('57P01', 'terminating connection due to administrator command'),
    ],
    ['57P03 starting up', pgError('57P03', 'the database system is starting up')],
    ['08006 connection failure', pgError('08006', 'connection failure')],
    ['refused', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:55433')],
    ['reset', pgError('ECONNRESET', 'read ECONNRESET')],
    ['cut off', new Error('Connection terminated unexpectedly')],
    ['connect timeout', new Error('timeout exceeded when trying to connect')],
    ['read timeout', new Error('Query read timeout')],
    [
      'every address refused',
      new AggregateError([pgError('ECONNREFUSED', 'connect ECONNREFUSED ::1:55433')], ''),
    ],
  ])('%s is one', (_name, error) => {
    expect(isConnectionError(error)).toBe(true);
  });

  it.each([
    ['a unique violation', pgError('23505', 'duplicate key value violates unique constraint')],
    ['a syntax error', pgError('42601', 'syntax error at or near "SELEC"')],
    ['a statement timeout', pgError('57014', 'canceling statement due to statement timeout')],
    ['a serialization failure', pgError('40001', 'could not serialize access')],
    ['not an error', 'ECONNREFUSED'],
  ])('%s is not', (_name, error) => {
    expect(isConnectionError(error)).toBe(false);
  });

  it('says the code and the message', () => {
    expect(describeConnectionError(pgError('57P01', 'terminating connection'))).toBe(
      '57P01 terminating connection',
    );
    expect(
      describeConnectionError(pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')),
    ).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect(
      describeConnectionError(new AggregateError([new Error('connect ECONNREFUSED ::1:1')], '')),
    ).toBe('connect ECONNREFUSED ::1:1');
  });
});

describe('probe back-off', () => {
  it('doubles from the first delay and stops at the ceiling', () => {
    const b = { initialMs: 250, maxMs: 2000 };
    expect([1, 2, 3, 4, 5, 50].map((n) => backoffDelay(n, b))).toEqual([
      250, 500, 1000, 2000, 2000, 2000,
    ]);
    expect(backoffDelay(0, b)).toBe(250);
  });
});

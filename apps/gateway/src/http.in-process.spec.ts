/**
 * The HTTP face in process (docs/adr/0018): a Nest application with the real AuthGuard, the real
 * global error filter, the health and console controllers, on an ephemeral port; the runtime
 * behind them is a stand-in (no store, no broker). Nest 12 is ESM-only: jest loads it through
 * test/support/esm-to-cjs.transform.js.
 */
import 'reflect-metadata';
import { type INestApplication, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, NestFactory } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { RuleBook } from '@onebill/rules';
import { ApiErrorsFilter } from './api-errors.filter';
import { AuthGuard, Authenticator, hashToken, newToken } from './auth';
import { ConsoleStateController } from './console-state.controller';
import { HealthController } from './health.controller';
import { COMPONENTS, type Readiness } from './health.monitor';
import { OutboxController } from './outbox.controller';
import { GatewayRuntime } from './runtime';

const operatorToken = newToken('operator');
const hospitalToken = newToken('hospital');
const rules = RuleBook.load();
const hospital = rules.allHospitals()[0]?.fixmedins_code ?? 'none';

let readiness: Readiness;
const allUp = (): Readiness =>
  Object.fromEntries(COMPONENTS.map((c) => [c, { status: 'up', state: 'ok' }])) as Readiness;

const runtime = {
  readiness: () => readiness,
  rules,
  config: { kafkaBrokers: null },
  feedStatus: () => null,
} as unknown as GatewayRuntime;

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController, ConsoleStateController, OutboxController],
  providers: [
    { provide: GatewayRuntime, useValue: runtime },
    {
      provide: Authenticator,
      useValue: new Authenticator([
        {
          name: 'ops',
          role: 'operator',
          fixmedinsCode: null,
          tokenSha256: hashToken(operatorToken),
        },
        {
          name: 'desk',
          role: 'hospital',
          fixmedinsCode: hospital,
          tokenSha256: hashToken(hospitalToken),
        },
      ]),
    },
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useValue: new ApiErrorsFilter(65536, () => undefined) },
  ],
})
class HttpFaceModule {}

let app: INestApplication;
let base: string;

beforeAll(async () => {
  app = await NestFactory.create(HttpFaceModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
});

afterAll(async () => {
  await app.close();
});

beforeEach(() => {
  readiness = allUp();
});

const get = (path: string, token?: string): Promise<Response> =>
  fetch(
    `${base}${path}`,
    token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
  );

describe('health (public, answered from the monitor)', () => {
  it('is ready when every component is up, without a credential', async () => {
    const res = await get('/health/ready');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; info: Record<string, unknown> };
    expect(body.status).toBe('ok');
    expect(Object.keys(body.info).sort()).toEqual([...COMPONENTS].sort());
  });

  it('answers 503 and names the component that is down, with what to do', async () => {
    readiness = {
      ...allUp(),
      database: { status: 'down', state: 'unreachable', action: 'start PostgreSQL' },
    };
    const res = await get('/health/ready');
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: Record<string, { action?: string }> };
    expect(Object.keys(body.error)).toEqual(['database']);
    expect(body.error.database?.action).toBe('start PostgreSQL');
    // the HTTP intake needs only the database: it is down too
    expect((await get('/health/intake')).status).toBe(503);
  });

  it('keeps /health/intake up while only the broker is down', async () => {
    readiness = { ...allUp(), broker: { status: 'down', state: 'no answer' } };
    expect((await get('/health/ready')).status).toBe(503);
    expect((await get('/health/intake')).status).toBe(200);
  });
});

describe('the AuthGuard on real routes', () => {
  it('refuses a request without a credential with 401, a Bearer challenge and a problem body', async () => {
    const res = await get('/api/v1/console/names');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="onebill"');
    const body = (await res.json()) as { errors: Array<{ code: string }> };
    expect(body.errors[0]?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an unknown token with 401', async () => {
    expect((await get('/api/v1/console/names', newToken('operator'))).status).toBe(401);
  });

  it('lets an allowed role through to the handler', async () => {
    const res = await get('/api/v1/console/names', hospitalToken);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { hospitals: Record<string, unknown> };
    expect(Object.keys(body.hospitals)).toContain(hospital);
  });

  it('refuses a role the route does not name with 403, before the handler runs', async () => {
    // the outbox is the operator's: the stand-in runtime has no database, so a handler that ran
    // would fail with 500, not 403
    const res = await get('/api/v1/outbox/parked', hospitalToken);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { errors: Array<{ code: string; rule: string }> };
    expect(body.errors[0]).toMatchObject({ code: 'FORBIDDEN', rule: 'this route is for operator' });
  });
});

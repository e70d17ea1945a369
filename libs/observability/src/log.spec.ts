/**
 * The pino-backed logger as every app uses it (the gateway's own guarantees are in
 * apps/gateway/src/log.spec.ts): an ID-card number and a name never reach the output, wherever
 * they are written — a field, a nested field, a child's base, the message text, an error Nest logs.
 */
import { lineSink, Logger } from './log';
import { NestLogger } from './nest-logger';

const CERTNO = '510402199001011234';
const CERTNO_X = '51040219800101001X';
const NAME = '王小明';

function capture(level: 'debug' | 'info' | 'warn' | 'error' = 'debug') {
  const lines: string[] = [];
  const log = new Logger(level, { service: 'county-payments' }, (l) => lines.push(l));
  const entries = (): Record<string, unknown>[] =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, entries };
}

describe('pino logger redaction', () => {
  it('never writes an ID-card number or a name whole, wherever it is written', () => {
    const { log, lines, entries } = capture();
    log
      .child({ person: { certno: CERTNO, psn_name: NAME } })
      .warn(`identity check failed for ${CERTNO} (${CERTNO_X.toLowerCase()})`, {
        rows: [{ idCard: CERTNO_X, name: NAME }],
        error: `certno ${CERTNO} does not match`,
      });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(
      new RegExp(`${CERTNO}|${CERTNO_X}|${CERTNO_X.toLowerCase()}|${NAME}`),
    );
    expect(entries()[0]).toMatchObject({
      level: 'warn',
      msg: 'identity check failed for 510402********1234 (510402********001x)',
      service: 'county-payments',
      person: { certno: '510402********1234', psn_name: '王**' },
      rows: [{ idCard: '510402********001X', name: '王**' }],
      error: 'certno 510402********1234 does not match',
    });
  });

  it('leaves numbers that are not ID cards alone', () => {
    const { log, entries } = capture();
    // a psn_no, a visit id, an 18-digit number that is no date, an offset
    log.info('settled 510400100148', {
      mdtrtId: 'MDT20245104000004',
      n: '123456789012345678',
      offset: '1234567890123',
    });
    expect(entries()[0]).toMatchObject({
      msg: 'settled 510400100148',
      mdtrtId: 'MDT20245104000004',
      n: '123456789012345678',
      offset: '1234567890123',
    });
  });

  it("masks what Nest logs through the adapter, at Nest's levels", () => {
    const { log, lines, entries } = capture('info');
    const nest = new NestLogger(log);
    nest.log('Mapped {/api/v1/settlements, POST} route', 'RouterExplorer'); // chatter: debug
    nest.warn(`odd input ${CERTNO}`, 'HttpController');
    const error = new Error(`bad certno ${CERTNO}`);
    nest.error(error.message, error.stack, 'ExceptionsHandler');
    nest.error('plain', 'SomeContext');
    expect(lines.join('\n')).not.toContain(CERTNO);
    expect(entries().map((e) => [e.level, e.msg, e.context])).toEqual([
      ['warn', 'odd input 510402********1234', 'HttpController'],
      ['error', 'bad certno 510402********1234', 'ExceptionsHandler'],
      ['error', 'plain', 'SomeContext'],
    ]);
    expect(String(entries()[1]?.stack)).toMatch(/^Error: bad certno 510402\*{8}1234\n\s+at /);
  });

  it('takes plain lines (kafkajs, the county ingest) at their level', () => {
    const { log, entries } = capture('info');
    const sink = lineSink(log);
    sink.debug('hidden');
    sink.log('[county-payments] database available again');
    sink.error(`crashed on ${CERTNO}`);
    expect(entries().map((e) => [e.level, e.msg])).toEqual([
      ['info', '[county-payments] database available again'],
      ['error', 'crashed on 510402********1234'],
    ]);
  });
});

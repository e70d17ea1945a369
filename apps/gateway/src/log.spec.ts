import { Logger, maskCertno, maskName, redact } from './log';

/** A logger that keeps its lines, and the lines parsed. */
function capture(level?: 'debug' | 'info' | 'warn' | 'error', base?: Record<string, unknown>) {
  const lines: string[] = [];
  const log = new Logger(level, base, (l) => lines.push(l));
  const entries = (): Record<string, unknown>[] =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, entries };
}

describe('masking', () => {
  it.each([
    // resident ID card, 18 characters: region code and the last four stay
    ['510402199001011234', '510402********1234'],
    ['51040219800101001X', '510402********001X'],
    // the old 15-digit card
    ['510402900101123', '510402*****1123'],
    // anything shorter than an ID card keeps its last four only
    ['A1234567', '****4567'],
    ['12345', '*2345'],
    ['1234', '****'],
    ['', ''],
  ])('maskCertno(%p) = %p', (certno, masked) => {
    expect(maskCertno(certno)).toBe(masked);
    expect(maskCertno(certno)).toHaveLength(certno.length);
  });

  it.each([
    ['张三丰', '张**'],
    ['张三', '张*'],
    ['欧阳娜娜', '欧***'],
    ['Ming Li', 'M******'],
    // a character outside the BMP is one character, not two halves
    ['𠀾小明', '𠀾**'],
    ['', ''],
  ])('maskName(%p) = %p', (name, masked) => {
    expect(maskName(name)).toBe(masked);
  });
});

describe('redact', () => {
  it('masks ID numbers and names under every key that holds them, however deep', () => {
    const input = {
      certno: '510402199001011234',
      cert_no: '510402199001011234',
      id_card: '510402199001011234',
      idCard: '510402199001011234',
      psn_name: '张三丰',
      psnName: '张三丰',
      name: '张三丰',
      person: { certno: '51040219800101001X', nested: [{ psn_name: '李四' }] },
      list: [{ idCard: '510402199001011234' }, 'plain'],
    };
    expect(redact(input)).toEqual({
      certno: '510402********1234',
      cert_no: '510402********1234',
      id_card: '510402********1234',
      idCard: '510402********1234',
      psn_name: '张**',
      psnName: '张**',
      name: '张**',
      person: { certno: '510402********001X', nested: [{ psn_name: '李*' }] },
      list: [{ idCard: '510402********1234' }, 'plain'],
    });
  });

  it('leaves everything else as it is and does not change its argument', () => {
    const input = {
      psn_no: '510400100148',
      mdtrt_id: 'MDT20245104000004',
      amount: '48620.35',
      count: 3,
      ok: true,
      none: null,
      certno: '510402199001011234',
    };
    const copy = structuredClone(input);
    const out = redact(input) as Record<string, unknown>;
    expect(input).toEqual(copy);
    expect(out).toEqual({ ...copy, certno: '510402********1234' });
    expect(redact('510402199001011234')).toBe('510402199001011234');
    expect(redact(null)).toBeNull();
  });
});

describe('Logger', () => {
  it('writes one JSON object per line: time, level, msg, base fields, the event fields', () => {
    const { log, lines, entries } = capture('info', { service: 'gateway' });
    const before = Date.now();

    log.info('message settled', { correlationId: 'c-1', setlId: 'S1', partition: 3 });

    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const { time: written, ...entry } = entries()[0] ?? {};
    // the order of the keys is the order of the line: time, level, msg, then the rest
    expect(Object.keys(JSON.parse(lines[0] ?? '{}') as object).slice(0, 3)).toEqual([
      'time',
      'level',
      'msg',
    ]);
    expect(entry).toEqual({
      level: 'info',
      msg: 'message settled',
      service: 'gateway',
      correlationId: 'c-1',
      setlId: 'S1',
      partition: 3,
    });
    const time = Date.parse(String(written));
    expect(new Date(time).toISOString()).toBe(written);
    expect(time).toBeGreaterThanOrEqual(before - 1);
    expect(time).toBeLessThanOrEqual(Date.now() + 1);
  });

  it('never writes an ID number or a name whole, in the fields or in the base', () => {
    const { log, lines, entries } = capture('debug', { service: 'gateway' });
    const child = log.child({ patient: { psn_name: '王小明', certno: '510402199001011234' } });

    child.warn('identity check failed', { certno: '51040219800101001X', psnName: '欧阳娜娜' });

    expect(lines[0]).not.toMatch(/510402199001011234|51040219800101001X|王小明|欧阳娜娜/);
    expect(entries()[0]).toMatchObject({
      level: 'warn',
      service: 'gateway',
      patient: { psn_name: '王**', certno: '510402********1234' },
      certno: '510402********001X',
      psnName: '欧***',
    });
  });

  it('writes the levels at and above its own, and nothing below', () => {
    const { log, entries } = capture('warn');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(entries().map((e) => [e.level, e.msg])).toEqual([
      ['warn', 'w'],
      ['error', 'e'],
    ]);

    const all = capture('debug');
    all.log.debug('d');
    all.log.info('i');
    expect(all.entries().map((e) => e.level)).toEqual(['debug', 'info']);
  });

  it('logs at info by default', () => {
    const { log, entries } = capture();
    log.debug('hidden');
    log.info('shown');
    expect(entries().map((e) => e.msg)).toEqual(['shown']);
  });

  it('gives a child the fields of its parent and its own, the parent unchanged', () => {
    const { log, entries } = capture('info', { service: 'gateway' });
    const child = log.child({ source: 'kafka', partition: 1 }).child({ partition: 2 });
    child.info('a');
    log.info('b');
    const [a, b] = entries().map(({ time: _time, ...rest }) => rest);
    expect(a).toEqual({
      level: 'info',
      msg: 'a',
      service: 'gateway',
      source: 'kafka',
      partition: 2,
    });
    expect(b).toEqual({ level: 'info', msg: 'b', service: 'gateway' });
  });

  it('writes to stdout, one line per entry, by default', () => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      new Logger('info', { service: 'gateway' }).info('flow', { settled: 2, outboxBacklog: 0 });
      expect(write).toHaveBeenCalledTimes(1);
      const out = String(write.mock.calls[0]?.[0]);
      expect(out.endsWith('\n')).toBe(true);
      expect(JSON.parse(out)).toMatchObject({
        level: 'info',
        msg: 'flow',
        service: 'gateway',
        settled: 2,
        outboxBacklog: 0,
      });
    } finally {
      write.mockRestore();
    }
  });
});

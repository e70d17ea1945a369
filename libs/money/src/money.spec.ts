import fc from 'fast-check';
import {
  D,
  MAX_FEN,
  MoneyError,
  applyRatio,
  compareAmounts,
  decimalOf,
  decimalToFen,
  fenOrNull,
  fenToDecimal,
  formatBp,
  formatDecimal,
  formatFen,
  largestRemainder,
  negateAmount,
  negateFen,
  normaliseAmount,
  parseAmount,
  parseBp,
  parseFen,
  parseWireFen,
  roundScaled,
  roundToFen,
  shareOf,
  sumAmounts,
  sumDecimal,
  sumFen,
} from './index';

const WIRE_MAX = 99_999_999_999_999; // 999,999,999,999.99 yuan: 12 integer digits
const wireFen = fc.integer({ min: -WIRE_MAX, max: WIRE_MAX });
const billFen = fc.integer({ min: 0, max: MAX_FEN });

describe('wire amounts ↔ fen', () => {
  it('formats fen as the wire form', () => {
    expect(formatFen(0)).toBe('0.00');
    expect(formatFen(5)).toBe('0.05');
    expect(formatFen(123450)).toBe('1234.50');
    expect(formatFen(-5)).toBe('-0.05');
    expect(formatFen(-123456)).toBe('-1234.56');
    expect(formatFen(WIRE_MAX)).toBe('999999999999.99');
  });

  it('parse ∘ format is the identity on every wire amount (property)', () => {
    fc.assert(
      fc.property(wireFen, (f) => {
        const text = formatFen(f);
        expect(text).toMatch(/^-?[0-9]{1,12}\.[0-9]{2}$/);
        expect(parseWireFen(text, 'x')).toBe(f);
      }),
    );
  });

  it('format ∘ parse is the identity on the wire form (property)', () => {
    const text = fc
      .tuple(
        fc.boolean(),
        fc.integer({ min: 0, max: 999_999_999_999 }),
        fc.integer({ min: 0, max: 99 }),
      )
      .filter(([neg, y, c]) => !(neg && y === 0 && c === 0))
      .map(([neg, y, c]) => `${neg ? '-' : ''}${y}.${String(c).padStart(2, '0')}`);
    fc.assert(fc.property(text, (t) => expect(formatFen(parseWireFen(t, 'x'))).toBe(t)));
  });

  it('a bill amount parses as its fen, leading zeros and one decimal allowed', () => {
    expect(parseFen('12', 'f')).toBe(1200);
    expect(parseFen('12.5', 'f')).toBe(1250);
    expect(parseFen('0012.50', 'f')).toBe(1250);
    expect(parseFen('99999999.99', 'f')).toBe(MAX_FEN);
    fc.assert(fc.property(billFen, (f) => expect(parseFen(formatFen(f), 'f')).toBe(f)));
  });

  it.each(['', '.5', '12.', '12.345', '-1.00', '1e3', ' 1.00', '1,00', '100000000.00', 'abc'])(
    'refuses the bill amount %p with an error naming the field and the value',
    (bad) => {
      expect(fenOrNull(bad)).toBeNull();
      let caught: unknown;
      try {
        parseFen(bad, 'inscp_scp_amt');
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(MoneyError);
      expect((caught as MoneyError).code).toBe('INVALID_AMOUNT');
      expect((caught as MoneyError).field).toBe('inscp_scp_amt');
      expect((caught as MoneyError).message).toContain(`"${bad}"`);
    },
  );

  it.each(['12', '12.5', '+1.00', '-0', '1234567890123.00', '1.000', '', 12.5, null])(
    'refuses %p on the wire (exactly two decimals, at most 12 digits, a string)',
    (bad) => {
      expect(() => parseWireFen(bad, 'fund_payamt')).toThrow(/fund_payamt/);
    },
  );
});

describe('amounts as sent → the wire form', () => {
  it.each([
    ['0012.5', '12.50'],
    ['12.50', '12.50'],
    ['7', '7.00'],
    ['-3.1', '-3.10'],
    ['0', '0.00'],
    ['-0.00', '0.00'],
    ['000000000000.01', '0.01'],
    ['999999999999.99', '999999999999.99'],
  ])('%p → %p', (given, wire) => expect(normaliseAmount(given, 'x')).toBe(wire));

  it('agrees with decimal.js toFixed(2) on every amount as sent (property)', () => {
    const sent = fc
      .tuple(
        fc.boolean(),
        fc.integer({ min: 0, max: 999_999_999_999 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 2 }),
      )
      .map(([neg, y, zeros, c, places]) => {
        const int = '0'.repeat(zeros) + String(y);
        const whole = int.length > 12 ? String(y) : int;
        const frac = places === 0 ? '' : `.${String(c).padStart(2, '0').slice(0, places)}`;
        return `${neg && (y > 0 || c > 0) ? '-' : ''}${whole}${frac}`;
      });
    fc.assert(fc.property(sent, (s) => expect(normaliseAmount(s, 'x')).toBe(new D(s).toFixed(2))));
  });

  it.each(['1.234', '1e3', '', '+1', '1234567890123', 12])('refuses %p naming the field', (bad) => {
    expect(() => normaliseAmount(bad, 'medfee_sumamt')).toThrow(/medfee_sumamt/);
  });
});

describe('negate, sum, compare', () => {
  it('negating twice is the identity, and never gives -0.00 (property)', () => {
    fc.assert(
      fc.property(wireFen, (f) => {
        const text = formatFen(f);
        expect(negateAmount(negateAmount(text))).toBe(text);
        expect(negateFen(negateFen(f))).toBe(f);
        expect(parseWireFen(negateAmount(text), 'x')).toBe(-f || 0);
      }),
    );
    expect(negateAmount('0.00')).toBe('0.00');
    expect(negateAmount('12.30')).toBe('-12.30');
    expect(negateAmount('-12.30')).toBe('12.30');
    expect(formatFen(negateFen(0))).toBe('0.00');
  });

  it('the parts of a total add up to it, in fen and in Decimal (property)', () => {
    // a total split at arbitrary cut points: the parts must sum back to the total exactly
    const split = fc
      .tuple(billFen, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }))
      .map(([total, cuts]) => {
        const points = [0, ...cuts.map((c) => Math.floor(c * total)).sort((a, b) => a - b), total];
        return { total, parts: points.slice(1).map((p, i) => p - points[i]!) };
      });
    fc.assert(
      fc.property(split, ({ total, parts }) => {
        expect(sumFen(parts)).toBe(total);
        expect(sumAmounts(parts.map(formatFen))).toBe(formatFen(total));
        expect(formatDecimal(sumDecimal(parts.map(formatFen)))).toBe(formatFen(total));
      }),
    );
  });

  it('largest-remainder allocation: parts are whole fen and sum to the total (property)', () => {
    const weights = fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(billFen, weights, (total, ws) => {
        fc.pre(ws.some((w) => w > 0));
        const out = largestRemainder(
          fenToDecimal(total),
          ws.map((w, i) => ({ key: `k${i}`, weight: new D(w) })),
        );
        const parts = [...out.values()];
        for (const p of parts) expect(formatDecimal(p)).toMatch(/^\d+\.\d\d$/);
        expect(formatDecimal(sumDecimal(parts))).toBe(formatFen(total));
      }),
    );
  });

  it('compares by value, not by text', () => {
    expect(compareAmounts('10.00', '9.99')).toBe(1);
    expect(compareAmounts('-0.01', '0.00')).toBe(-1);
    expect(compareAmounts('12.50', '12.50')).toBe(0);
    fc.assert(
      fc.property(wireFen, wireFen, (a, b) =>
        expect(compareAmounts(formatFen(a), formatFen(b))).toBe(Math.sign(a - b)),
      ),
    );
  });
});

describe('the named rounding points (docs/adr/0002)', () => {
  it('fund line: amount × ratio, half-up to the fen', () => {
    expect(applyRatio(1, 5000)).toBe(1); // 0.005 → 0.01
    expect(applyRatio(1, 4999)).toBe(0);
    expect(applyRatio(860000, 7000)).toBe(602000);
    expect(applyRatio(12345, 525)).toBe(648); // 6.481125 → 6.48
    expect(applyRatio(0, 7000)).toBe(0);
    expect(applyRatio(-100, 7000)).toBe(0);
  });

  it('fund line agrees with decimal.js half-up on every amount and ratio (property)', () => {
    fc.assert(
      fc.property(billFen, fc.integer({ min: 0, max: 10_000 }), (fen, bp) => {
        const exact = fenToDecimal(fen).times(bp).dividedBy(10_000);
        expect(formatFen(applyRatio(fen, bp))).toBe(formatDecimal(roundToFen(exact)));
      }),
    );
  });

  it('a sum of segments in fen × basis points rounds once, half-up', () => {
    expect(roundScaled(5000)).toBe(1);
    expect(roundScaled(4999)).toBe(0);
    expect(roundScaled(1000 * 6000 + 333 * 7000)).toBe(833); // 600 + 233.1 → 833.1 → 833
  });

  it('threshold: a share of a yearly figure, half-up to the fen', () => {
    expect(shareOf('0.05', '43125.30')).toBe('2156.27'); // 2156.265 → 2156.27
    expect(shareOf('0.05', '43125.10')).toBe('2156.26'); // 2156.255 → 2156.26
    expect(shareOf('0.2', '380.00')).toBe('76.00');
  });

  it('ratios in basis points, printed as in setl_proc_info', () => {
    expect(parseBp('0.7', 'r')).toBe(7000);
    expect(parseBp('1', 'r')).toBe(10_000);
    expect(parseBp('0.0525', 'r')).toBe(525);
    expect(formatBp(7000)).toBe('0.70');
    expect(formatBp(525)).toBe('0.0525');
    expect(() => parseBp('1.5', 'ratio')).toThrow(/ratio/);
    expect(() => parseBp('0.12345', 'ratio')).toThrow(/"0.12345"/);
  });
});

describe('Decimal interop', () => {
  it('data-file amounts: non-negative, no leading zero, strings only', () => {
    expect(formatDecimal(parseAmount('123.4', 'budget'))).toBe('123.40');
    expect(() => parseAmount('0012.00', 'budget')).toThrow(/budget: "0012.00"/);
    expect(() => parseAmount(12, 'budget')).toThrow(/got number/);
    expect(() => parseAmount('-1.00', 'budget')).toThrow(MoneyError);
  });

  it('stored amounts: signed, at most two decimals; null is zero', () => {
    expect(formatDecimal(decimalOf('-12.5'))).toBe('-12.50');
    expect(formatDecimal(decimalOf(null))).toBe('0.00');
    expect(() => decimalOf('1.234', 'basic')).toThrow(/basic: "1.234"/);
  });

  it('formatting a Decimal that is not whole fen is refused (round first)', () => {
    expect(() => formatDecimal(new D('0.005'))).toThrow(/not a whole number of fen/);
    expect(formatDecimal(roundToFen(new D('0.005')))).toBe('0.01');
  });

  it('fen ↔ Decimal is exact both ways (property)', () => {
    fc.assert(
      fc.property(wireFen, (f) => {
        expect(decimalToFen(fenToDecimal(f))).toBe(f);
        expect(formatDecimal(fenToDecimal(f))).toBe(formatFen(f));
      }),
    );
    expect(() => decimalToFen(new D('0.001'))).toThrow(MoneyError);
  });
});

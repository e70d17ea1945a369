import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { explainReject, REJECT_REASONS } from './reject-reasons';

const ROOT = join(__dirname, '../../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'testing' ? [] : sources(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') ? [path] : [];
  });
}

/**
 * Every code a reject or an API problem can carry, read from the code that raises it: problems
 * written as `code: 'X'` in the gateway, the engine's `new EngineError('X'`, the decoder's
 * `err('X'` and DecodeErrorCode union, and RuleSetError's union.
 */
function raisedCodes(): Map<string, string> {
  const found = new Map<string, string>();
  const scan = (dirs: string[], patterns: RegExp[]): void => {
    for (const file of dirs.flatMap((d) => sources(join(ROOT, d))))
      for (const p of patterns)
        for (const m of readFileSync(file, 'utf8').matchAll(p))
          found.set(m[1] as string, file.slice(ROOT.length + 1));
  };
  scan(['apps/gateway/src'], [/code: '([A-Z][A-Z_]+)'/g]);
  scan(['libs/engine/src'], [/new EngineError\(\s*'([A-Z][A-Z_]+)'/g]);
  scan(['libs/messaging/src/xml'], [/\berr\(\s*'([A-Z][A-Z_]+)'/g]);
  const union = (file: string, start: RegExp): void => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const from = text.search(start);
    expect(from).toBeGreaterThanOrEqual(0);
    const block = text.slice(from, text.indexOf(';', from) + 1);
    for (const m of block.matchAll(/\|\s*'([A-Z][A-Z_]+)'/g)) found.set(m[1] as string, file);
  };
  union('libs/messaging/src/xml/errors.ts', /export type DecodeErrorCode =/);
  union('libs/rules/src/types.ts', /class RuleSetError[\s\S]*?readonly code:/);
  return found;
}

describe('every reject reason in plain words with a fix (issue 13)', () => {
  it('has words and a fix for every code the gateway, the engine, the decoder and the rules raise', () => {
    const codes = raisedCodes();
    // the scan itself finds the codes it must (a broken pattern would pass everything)
    for (const known of [
      'MISSING_FIELD',
      'UNKNOWN_HOSPITAL',
      'INVALID_AMOUNT',
      'NO_RULE_SET_IN_FORCE',
    ])
      expect(codes.has(known)).toBe(true);
    expect(codes.size).toBeGreaterThan(40);
    const missing = [...codes].filter(([code]) => REJECT_REASONS[code] === undefined);
    expect(missing).toEqual([]);
    for (const [code, r] of Object.entries(REJECT_REASONS)) {
      expect([code, /[\u4e00-\u9fff]/.test(r.zh)]).toEqual([code, true]);
      expect([code, r.en.length > 10 && r.fix.length > 10]).toEqual([code, true]);
    }
  });

  it('names the field in the fix and reads the bad value from the message kept', () => {
    const payload =
      '<discharge><setlinfo><inscp_scp_amt>12,34.5x</inscp_scp_amt></setlinfo></discharge>';
    const why = explainReject({
      reasonCode: 'INVALID_FIELD',
      field: 'inscp_scp_amt',
      message: 'inscp_scp_amt must match /^\\d{1,12}(\\.\\d{1,2})?$/',
      payload,
    });
    expect(why.code).toBe('INVALID_FIELD');
    expect(why.bad_value).toBe('12,34.5x');
    expect(why.fix).toContain('<inscp_scp_amt>');
    expect(why.fix).not.toContain('{field}');
    // a value the engine quotes, where the message kept has no such element
    expect(
      explainReject({
        reasonCode: 'UNSUPPORTED_MED_TYPE',
        field: 'med_type',
        message: 'med_type "99" is not settled by rule set panzhihua-2024',
        payload: null,
      }).bad_value,
    ).toBe('99');
    // a missing field has no bad value; an unknown element is itself the bad value
    expect(
      explainReject({
        reasonCode: 'MISSING_FIELD',
        field: 'psn_no',
        message: '<psn_no> is required',
      }).bad_value,
    ).toBeNull();
    expect(
      explainReject({ reasonCode: 'UNKNOWN_FIELD', field: 'foo', message: 'unknown element <foo>' })
        .bad_value,
    ).toBe('<foo>');
  });

  it('a code without words still reads as something, never as nothing', () => {
    const why = explainReject({ reasonCode: 'SOMETHING_NEW', field: null, message: 'x' });
    expect(why.en).toContain('Unlisted');
    expect(why.code).toBe('SOMETHING_NEW');
  });
});

/**
 * Treatment first, pay later (先诊疗后付费) at admission, from the shipped rule sets:
 * - Panzhihua 004 第十六条: referred 特困, 孤儿, 低保 admitted in the city pay no deposit.
 * - Baoshan 002 第二十六条: referred class 1 (特困, 孤儿, 事实无人抚养儿童) and class 2 (低保, 返贫致贫)
 *   inpatients pay no deposit.
 */
import { depositWaiver } from '../waiver';
import { book } from './support';

const panzhihua = book.resolve('panzhihua', '2024-06-02');
const baoshan = book.resolve('baoshan', '2024-06-02');
const inpatient = (identities: string[], referred = true) => ({
  medType: '21',
  referred,
  identities,
});

describe('deposit waiver, Panzhihua (004 第十六条)', () => {
  it.each(['tekun', 'guer', 'dibao'])('a referred %s inpatient pays no deposit', (category) => {
    expect(depositWaiver(panzhihua, inpatient([category]))).toEqual({
      applies: true,
      category,
      reason: expect.stringContaining('treatment first, pay later') as string,
      article: '004 第十六条',
    });
  });

  it.each(['monitored', 'dibao_edge', 'illness_poor'])(
    'a referred %s inpatient pays the deposit (not a category of 第十六条)',
    (category) => {
      const w = depositWaiver(panzhihua, inpatient([category]));
      expect(w).toMatchObject({ applies: false, category: null, article: '004 第十六条' });
      expect(w.reason).toContain(category);
    },
  );

  it('a 低保 inpatient without a referral pays the deposit, and is told why', () => {
    const w = depositWaiver(panzhihua, inpatient(['dibao'], false));
    expect(w).toMatchObject({ applies: false, article: '004 第十六条' });
    expect(w.reason).toContain('not referred');
  });

  it('a person with no category pays the deposit', () => {
    expect(depositWaiver(panzhihua, inpatient([])).applies).toBe(false);
  });

  it('an outpatient visit has no deposit question: not waived', () => {
    const w = depositWaiver(panzhihua, { medType: '14', referred: true, identities: ['tekun'] });
    expect(w.applies).toBe(false);
    expect(w.reason).toContain('med_type 14');
  });

  it('with several identities the most generous qualifying one is named', () => {
    expect(depositWaiver(panzhihua, inpatient(['monitored', 'dibao', 'guer'])).category).toBe(
      'guer',
    );
  });
});

describe('deposit waiver, Baoshan (002 第二十六条)', () => {
  it.each(['tekun', 'guer', 'de_facto_orphan', 'dibao', 'relapse_poor'])(
    'a referred class 1 or 2 (%s) inpatient pays no deposit',
    (category) => {
      expect(depositWaiver(baoshan, inpatient([category]))).toMatchObject({
        applies: true,
        category,
        article: '002 第二十六条',
      });
    },
  );

  it.each(['dibao_edge', 'illness_poor'])(
    'a class 3 or 4 (%s) inpatient pays the deposit',
    (category) => {
      expect(depositWaiver(baoshan, inpatient([category])).applies).toBe(false);
    },
  );

  it('class 1 without a referral pays the deposit', () => {
    expect(depositWaiver(baoshan, inpatient(['tekun'], false))).toMatchObject({
      applies: false,
      article: '002 第二十六条',
    });
  });
});

/**
 * The one bill (一单制): basic insurance → critical illness → inclusive commercial insurance →
 * medical assistance → tilted assistance → the patient (004 第八条、第三十条).
 *
 * Pure: the caller passes the bill, the person's year-to-date accumulators and the compiled rule
 * set; the engine returns the bill and the new accumulators and stores nothing.
 *
 * Every fund line is computed on the in-scope personal part left by the tiers before it, rounded
 * half-up to the fen once (applyRatio), and capped by what is left of its annual cap. The
 * patient's cash is the total minus the funds, so the parts always add up to the bill.
 */
import { type CBasic, type CompiledRuleSet, compileRuleSet } from './compile';
import { EngineError } from './errors';
import {
  type Bp,
  type Fen,
  FULL,
  applyRatio,
  formatBp,
  formatFen,
  maxFen,
  minFen,
  parseFen,
  roundScaled,
} from './money';
import {
  type Accumulators,
  type Bill,
  type FundCodes,
  type ProcStep,
  type ResolvedRuleSet,
  type SetlDetail,
  type SettlementResult,
  type VisitClass,
  type VisitKindRule,
} from './types';

export interface SettleInput {
  bill: Bill;
  /** the person's position in the bill's calendar year; `emptyAccumulators(year)` for none */
  accumulators: Accumulators;
  ruleSet: CompiledRuleSet;
}

/** Working accumulators in fen. */
interface Acc {
  basicDeductibleUsed: Record<string, Fen>;
  basicPaid: Record<string, Fen>;
  criticalBase: Fen;
  criticalPaid: Fen;
  commercialBase: Fen;
  commercialPaid: Fen;
  assistanceDeductibleUsed: Record<string, Fen>;
  assistancePaid: Record<string, Fen>;
  tiltedBurden: Fen;
  tiltedPaid: Fen;
  inscpSelfPay: Fen;
  cashSelfPay: Fen;
}

interface Line {
  fund: keyof FundCodes;
  amount: Fen;
  bucket?: string;
  steps: ProcStep[];
}

interface Outcome {
  category: string | null;
  lines: Line[];
  actPayDedc: Fen;
  funds: { basic: Fen; critical: Fen; commercial: Fen; assistance: Fen; tilted: Fen };
  inscpPsnPart: Fen;
  acc: Acc;
}

export function emptyAccumulators(year: number): Accumulators {
  return {
    year,
    basicDeductibleUsed: {},
    basicPaid: {},
    criticalBase: '0.00',
    criticalPaid: '0.00',
    commercialBase: '0.00',
    commercialPaid: '0.00',
    assistanceDeductibleUsed: {},
    assistancePaid: {},
    tiltedBurden: '0.00',
    tiltedPaid: '0.00',
    inscpSelfPay: '0.00',
    cashSelfPay: '0.00',
  };
}

const compiledCache = new WeakMap<ResolvedRuleSet, CompiledRuleSet>();

/** Compiles once per rule-set object; later calls reuse the compiled form. */
export function compiled(rs: ResolvedRuleSet): CompiledRuleSet {
  let c = compiledCache.get(rs);
  if (c === undefined) {
    c = compileRuleSet(rs);
    compiledCache.set(rs, c);
  }
  return c;
}

function parseMap(m: Record<string, string>, field: string): Record<string, Fen> {
  const out: Record<string, Fen> = {};
  for (const k in m) out[k] = parseFen(m[k] as string, `${field}.${k}`);
  return out;
}

/** Keys in sorted order, so that equal positions serialise to equal JSON. */
function formatMap(m: Record<string, Fen>): Record<string, string> {
  const out: Record<string, string> = {};
  const keys = Object.keys(m);
  if (keys.length > 1) keys.sort();
  for (const k of keys) out[k] = formatFen(m[k] as Fen);
  return out;
}

function readAcc(a: Accumulators): Acc {
  return {
    basicDeductibleUsed: parseMap(a.basicDeductibleUsed, 'accumulators.basicDeductibleUsed'),
    basicPaid: parseMap(a.basicPaid, 'accumulators.basicPaid'),
    criticalBase: parseFen(a.criticalBase, 'accumulators.criticalBase'),
    criticalPaid: parseFen(a.criticalPaid, 'accumulators.criticalPaid'),
    commercialBase: parseFen(a.commercialBase, 'accumulators.commercialBase'),
    commercialPaid: parseFen(a.commercialPaid, 'accumulators.commercialPaid'),
    assistanceDeductibleUsed: parseMap(
      a.assistanceDeductibleUsed,
      'accumulators.assistanceDeductibleUsed',
    ),
    assistancePaid: parseMap(a.assistancePaid, 'accumulators.assistancePaid'),
    tiltedBurden: parseFen(a.tiltedBurden, 'accumulators.tiltedBurden'),
    tiltedPaid: parseFen(a.tiltedPaid, 'accumulators.tiltedPaid'),
    inscpSelfPay: parseFen(a.inscpSelfPay, 'accumulators.inscpSelfPay'),
    cashSelfPay: parseFen(a.cashSelfPay, 'accumulators.cashSelfPay'),
  };
}

function writeAcc(year: number, a: Acc): Accumulators {
  return {
    year,
    basicDeductibleUsed: formatMap(a.basicDeductibleUsed),
    basicPaid: formatMap(a.basicPaid),
    criticalBase: formatFen(a.criticalBase),
    criticalPaid: formatFen(a.criticalPaid),
    commercialBase: formatFen(a.commercialBase),
    commercialPaid: formatFen(a.commercialPaid),
    assistanceDeductibleUsed: formatMap(a.assistanceDeductibleUsed),
    assistancePaid: formatMap(a.assistancePaid),
    tiltedBurden: formatFen(a.tiltedBurden),
    tiltedPaid: formatFen(a.tiltedPaid),
    inscpSelfPay: formatFen(a.inscpSelfPay),
    cashSelfPay: formatFen(a.cashSelfPay),
  };
}

function cloneAcc(a: Acc): Acc {
  return {
    ...a,
    basicDeductibleUsed: { ...a.basicDeductibleUsed },
    basicPaid: { ...a.basicPaid },
    assistanceDeductibleUsed: { ...a.assistanceDeductibleUsed },
    assistancePaid: { ...a.assistancePaid },
  };
}

const add = (m: Record<string, Fen>, k: string, v: Fen): void => {
  m[k] = (m[k] ?? 0) + v;
};

/** What is left of a cap (null = none), and the capped amount. */
function capped(raw: Fen, cap: Fen | null, paid: Fen): { amount: Fen; hit: boolean } {
  if (cap === null) return { amount: raw, hit: false };
  const left = maxFen(0, cap - paid);
  return raw > left ? { amount: left, hit: true } : { amount: raw, hit: false };
}

const step = (s: ProcStep): ProcStep => s;

function basicTier(
  rule: CBasic | undefined,
  bill: Bill,
  inscp: Fen,
  acc: Acc,
  article: string,
): { pay: Fen; dedUsed: Fen; steps: ProcStep[] } {
  if (rule === undefined) {
    return {
      pay: 0,
      dedUsed: 0,
      steps: [
        step({
          step: 'scope',
          base: formatFen(inscp),
          amount: '0.00',
          note: 'no basic-insurance benefit for this visit class',
          article,
        }),
      ],
    };
  }
  const level = bill.hospitalLevel;
  const deductible = rule.deductibleByLevel[level];
  const usedBefore =
    rule.deductiblePer === 'year' ? (acc.basicDeductibleUsed[rule.deductibleGroup] ?? 0) : 0;
  const dedLeft = maxFen(0, deductible - usedBefore);
  const dedUsed = minFen(inscp, dedLeft);
  const base = inscp - dedUsed;
  const ratio = rule.ratioByLevel[level];
  const raw = applyRatio(base, ratio);
  const cap = capped(raw, rule.annualCap, acc.basicPaid[rule.capGroup] ?? 0);
  if (rule.deductiblePer === 'year') add(acc.basicDeductibleUsed, rule.deductibleGroup, dedUsed);
  add(acc.basicPaid, rule.capGroup, cap.amount);
  const steps: ProcStep[] = [
    step({
      step: 'deductible',
      base: formatFen(inscp),
      amount: formatFen(dedUsed),
      deductible: formatFen(deductible),
      note: `per ${rule.deductiblePer}, hospital level ${level}, ${formatFen(usedBefore)} used before`,
      article,
    }),
    step({
      step: 'ratio',
      base: formatFen(base),
      amount: formatFen(raw),
      ratio: formatBp(ratio),
      article,
    }),
  ];
  if (rule.annualCap !== null) {
    steps.push(
      step({
        step: 'cap',
        base: formatFen(raw),
        amount: formatFen(cap.amount),
        cap: formatFen(rule.annualCap),
        capHit: cap.hit,
        note: `cap group ${rule.capGroup}`,
        article,
      }),
    );
  }
  return { pay: cap.amount, dedUsed, steps };
}

/** The segmented amount for the part of the base between `before` and `after`. */
function segmented(
  segments: { from: Fen; upTo: Fen | null; ratio: Bp }[],
  deductible: Fen,
  before: Fen,
  after: Fen,
  ratioAdd: Bp,
  steps: ProcStep[],
  article: string,
): Fen {
  // work in (fen × basis points) and round once at the end
  let scaled = 0;
  const lo = maxFen(0, before - deductible);
  const hi = maxFen(0, after - deductible);
  for (const s of segments) {
    const sHi = s.upTo === null ? hi : minFen(hi, s.upTo);
    const sLo = maxFen(lo, s.from);
    if (sHi <= sLo) continue;
    const ratio = minFen(FULL, s.ratio + ratioAdd);
    scaled += (sHi - sLo) * ratio;
    steps.push(
      step({
        step: 'segment',
        base: formatFen(sHi - sLo),
        amount: formatFen(applyRatio(sHi - sLo, ratio)),
        ratio: formatBp(ratio),
        note: `segment ${formatFen(s.from)}–${s.upTo === null ? '∞' : formatFen(s.upTo)} above the deductible`,
        article,
      }),
    );
  }
  return roundScaled(scaled);
}

/**
 * Upstream-settled mode: the insurance tiers as the platform settled them. Their lines say so in
 * their steps; the person's position moves as if the gateway had computed the same amounts
 * (basic paid per cap group and the deductible borne, the critical-illness and commercial bases
 * and paid), so that a later bill of either mode sees the right year-to-date position.
 */
function upstreamTiers(
  bill: Bill,
  vc: VisitClass,
  inscp: Fen,
  acc: Acc,
  rs: CompiledRuleSet,
): {
  basicPay: Fen;
  actPayDedc: Fen;
  criticalPay: Fen;
  commercialPay: Fen;
  lines: Line[];
} {
  const u = bill.upstream as NonNullable<Bill['upstream']>;
  const basicPay = parseFen(u.hifpPay, 'hifp_pay');
  const criticalPay = parseFen(u.hifmiPay, 'hifmi_pay');
  const commercialPay = parseFen(u.hifobPay, 'hifob_pay');
  const actPayDedc = parseFen(u.actPayDedc, 'act_pay_dedc');
  const insured = basicPay + criticalPay + commercialPay;
  if (insured > inscp || actPayDedc > inscp - basicPay) {
    const rule =
      'hifp_pay + hifmi_pay + hifob_pay ≤ inscp_scp_amt; act_pay_dedc ≤ inscp_scp_amt − hifp_pay';
    // the field at fault: the tiers when they exceed the cost, else the deductible
    throw insured > inscp
      ? new EngineError(
          'UPSTREAM_DOES_NOT_ADD_UP',
          'hifp_pay',
          rule,
          `the tiers settled upstream (${formatFen(basicPay)} + ${formatFen(criticalPay)} + ${formatFen(commercialPay)}, deductible ${formatFen(actPayDedc)}) exceed the in-scope cost ${formatFen(inscp)}`,
        )
      : new EngineError(
          'UPSTREAM_DOES_NOT_ADD_UP',
          'act_pay_dedc',
          rule,
          `the deductible borne upstream ${formatFen(actPayDedc)} exceeds what hifp_pay ${formatFen(basicPay)} leaves of the in-scope cost ${formatFen(inscp)} (${formatFen(inscp - basicPay)})`,
        );
  }
  const src = rs.src;
  const note = 'settled upstream by the medical-insurance platform; not recomputed by the gateway';
  const lines: Line[] = [];
  const basicRule = rs.basic[bill.insutype][vc];
  if (basicRule !== undefined) {
    if (basicRule.deductiblePer === 'year')
      add(acc.basicDeductibleUsed, basicRule.deductibleGroup, actPayDedc);
    add(acc.basicPaid, basicRule.capGroup, basicPay);
  }
  lines.push({
    fund: 'basic',
    amount: basicPay,
    steps: [
      step({
        step: 'upstream',
        base: formatFen(inscp),
        amount: formatFen(basicPay),
        deductible: formatFen(actPayDedc),
        note: `hifp_pay ${note}`,
        article: src.articles.basic,
      }),
    ],
  });
  let personal = inscp - basicPay;
  const ci = rs.critical[bill.insutype];
  if (ci !== null && ci.visitClasses.has(vc)) {
    acc.criticalBase += personal;
    acc.criticalPaid += criticalPay;
  }
  if ((ci !== null && ci.visitClasses.has(vc)) || criticalPay > 0) {
    lines.push({
      fund: 'critical',
      amount: criticalPay,
      steps: [
        step({
          step: 'upstream',
          base: formatFen(personal),
          amount: formatFen(criticalPay),
          note: `hifmi_pay ${note}`,
          article: src.articles.critical,
        }),
      ],
    });
  }
  personal -= criticalPay;
  const cm = rs.commercial;
  const cmCovers = cm !== null && bill.commercialEnrolled && cm.visitClasses.has(vc);
  if (cmCovers) {
    acc.commercialBase += personal;
    acc.commercialPaid += commercialPay;
  }
  if (cmCovers || commercialPay > 0) {
    lines.push({
      fund: 'commercial',
      amount: commercialPay,
      steps: [
        step({
          step: 'upstream',
          base: formatFen(personal),
          amount: formatFen(commercialPay),
          note: `hifob_pay ${note}`,
          article: src.articles.commercial,
        }),
      ],
    });
  }
  return { basicPay, actPayDedc, criticalPay, commercialPay, lines };
}

function evaluate(
  bill: Bill,
  vc: VisitClass,
  kind: VisitKindRule | undefined,
  inscp: Fen,
  outOfScope: Fen,
  start: Acc,
  rs: CompiledRuleSet,
  category: string | null,
): Outcome {
  const src = rs.src;
  const acc = cloneAcc(start);
  const lines: Line[] = [];

  let basicPay = 0;
  let actPayDedc = 0;
  let criticalPay = 0;
  let commercialPay = 0;
  let personal = inscp;
  if (bill.upstream !== undefined) {
    // the insurance tiers were settled by the medical-insurance platform: take them as settled,
    // keep the person's position as the gateway would have kept it, compute only assistance
    const u = upstreamTiers(bill, vc, inscp, acc, rs);
    ({ basicPay, actPayDedc, criticalPay, commercialPay } = u);
    lines.push(...u.lines);
    personal = inscp - basicPay - criticalPay - commercialPay;
  } else {
    // 1. basic insurance
    const basic = basicTier(rs.basic[bill.insutype][vc], bill, inscp, acc, src.articles.basic);
    actPayDedc = basic.dedUsed;
    basicPay = basic.pay;
    lines.push({ fund: 'basic', amount: basic.pay, steps: basic.steps });
    personal = inscp - basic.pay;

    // 2. critical illness on the year's accumulated in-scope personal part after basic

    const ci = rs.critical[bill.insutype];
    if (ci !== null && ci.visitClasses.has(vc)) {
      const tilted = category !== null && rs.tilt !== null && rs.tilt.categories.has(category);
      const deductible =
        tilted && rs.tilt !== null
          ? applyRatio(ci.deductible, rs.tilt.deductibleFactor)
          : ci.deductible;
      const ratioAdd = tilted && rs.tilt !== null ? rs.tilt.ratioAddition : 0;
      const before = acc.criticalBase;
      const after = before + personal;
      const steps: ProcStep[] = [
        step({
          step: 'deductible',
          base: formatFen(after),
          amount: formatFen(minFen(after, deductible) - minFen(before, deductible)),
          deductible: formatFen(deductible),
          note: `year-to-date base ${formatFen(before)} → ${formatFen(after)}${
            tilted
              ? `; tilt for ${category ?? ''}: deductible × ${formatBp(rs.tilt?.deductibleFactor ?? FULL)}, ratios + ${formatBp(ratioAdd)}`
              : ''
          }`,
          article: tilted
            ? `${src.articles.critical}; ${src.articles.tilt}`
            : src.articles.critical,
        }),
      ];
      const raw = segmented(
        ci.segments,
        deductible,
        before,
        after,
        ratioAdd,
        steps,
        src.articles.critical,
      );
      const cap = capped(raw, ci.annualCap, acc.criticalPaid);
      if (ci.annualCap !== null) {
        steps.push(
          step({
            step: 'cap',
            base: formatFen(raw),
            amount: formatFen(cap.amount),
            cap: formatFen(ci.annualCap),
            capHit: cap.hit,
            article: src.articles.critical,
          }),
        );
      }
      criticalPay = cap.amount;
      acc.criticalBase = after;
      acc.criticalPaid += criticalPay;
      lines.push({ fund: 'critical', amount: criticalPay, steps });
    }
    personal -= criticalPay;

    // 3. inclusive commercial insurance, only for people enrolled (004 第八条)

    const cm = rs.commercial;
    if (cm !== null && bill.commercialEnrolled && cm.visitClasses.has(vc)) {
      const before = acc.commercialBase;
      const after = before + personal;
      const dedUsed = minFen(after, cm.deductible) - minFen(before, cm.deductible);
      const base = personal - dedUsed;
      const raw = applyRatio(base, cm.ratio);
      const cap = capped(raw, cm.annualCap, acc.commercialPaid);
      commercialPay = cap.amount;
      acc.commercialBase = after;
      acc.commercialPaid += commercialPay;
      const steps: ProcStep[] = [
        step({
          step: 'deductible',
          base: formatFen(personal),
          amount: formatFen(dedUsed),
          deductible: formatFen(cm.deductible),
          note: `year-to-date base ${formatFen(before)} → ${formatFen(after)}`,
          article: src.articles.commercial,
        }),
        step({
          step: 'ratio',
          base: formatFen(base),
          amount: formatFen(raw),
          ratio: formatBp(cm.ratio),
          article: src.articles.commercial,
        }),
      ];
      if (cm.annualCap !== null) {
        steps.push(
          step({
            step: 'cap',
            base: formatFen(raw),
            amount: formatFen(cap.amount),
            cap: formatFen(cm.annualCap),
            capHit: cap.hit,
            article: src.articles.commercial,
          }),
        );
      }
      lines.push({ fund: 'commercial', amount: commercialPay, steps });
    }
    personal -= commercialPay;
  }

  // 4. medical assistance on the in-scope personal part left by the insurances (004 第十五条:
  //    amounts below the insurance deductibles are included)
  let assistancePay = 0;
  // a visit kind (002 第九条) names its own bucket and referral exemption in the rule set
  const bucket =
    kind === undefined
      ? rs.bucketByClass.get(vc)
      : kind.bucket === null
        ? undefined
        : rs.bucketByName.get(kind.bucket);
  if (category !== null && bucket !== undefined) {
    const b = bucket.src;
    const terms = bucket.terms.get(category);
    const steps: ProcStep[] = [];
    const exempt =
      (kind?.referralExempt ?? bucket.exemptClasses.has(vc)) ||
      (b.referralExempt.followUp && bill.followUp);
    if (kind !== undefined) {
      steps.push(
        step({
          step: 'visit-kind',
          base: formatFen(personal),
          amount: formatFen(personal),
          note: `${bill.visitKind ?? ''} counts in bucket ${b.name}${kind.referralExempt ? ', exempt from the referral rule' : ''}`,
          article: kind.article,
        }),
      );
    }
    if (terms === undefined) {
      steps.push(
        step({
          step: 'scope',
          base: formatFen(personal),
          amount: '0.00',
          note: `category ${category} has no assistance in bucket ${b.name}`,
          article: b.article,
        }),
      );
    } else if (b.referralRequired && !bill.referred && !exempt) {
      steps.push(
        step({
          step: 'referral',
          base: formatFen(personal),
          amount: '0.00',
          note: 'cost without a proper referral is outside assistance',
          article: b.article,
        }),
      );
    } else {
      const usedBefore = acc.assistanceDeductibleUsed[b.deductibleGroup] ?? 0;
      const dedLeft = terms.deductible === null ? 0 : maxFen(0, terms.deductible - usedBefore);
      const dedUsed = minFen(personal, dedLeft);
      const base = personal - dedUsed;
      const raw = applyRatio(base, terms.ratio);
      const cap = capped(raw, terms.annualCap, acc.assistancePaid[b.name] ?? 0);
      assistancePay = cap.amount;
      add(acc.assistanceDeductibleUsed, b.deductibleGroup, dedUsed);
      add(acc.assistancePaid, b.name, assistancePay);
      steps.push(
        step({
          step: 'deductible',
          base: formatFen(personal),
          amount: formatFen(dedUsed),
          deductible: terms.deductible === null ? '0.00' : formatFen(terms.deductible),
          note: `category ${category}, deductible group ${b.deductibleGroup}, ${formatFen(usedBefore)} used before`,
          article: b.article,
        }),
        step({
          step: 'ratio',
          base: formatFen(base),
          amount: formatFen(raw),
          ratio: formatBp(terms.ratio),
          article: b.article,
        }),
      );
      if (terms.annualCap !== null) {
        steps.push(
          step({
            step: 'cap',
            base: formatFen(raw),
            amount: formatFen(assistancePay),
            cap: formatFen(terms.annualCap),
            capHit: cap.hit,
            note: `cap bucket ${b.name}`,
            article: b.article,
          }),
        );
      }
    }
    lines.push({ fund: 'assistance', amount: assistancePay, bucket: b.name, steps });
  }
  personal -= assistancePay;

  // 5. tilted assistance (004 第十三条): the year's burden above the monitoring standard
  let tiltedPay = 0;
  const ta = rs.tilted;
  const taSrc = src.tilted;
  const target = category !== null && ta !== null && ta.categories.has(category);
  if (
    ta !== null &&
    taSrc !== null &&
    (rs.readings.tiltedBurdenVisits === 'every-visit' || ta.visitClasses.has(vc)) &&
    (!taSrc.requiresReferral || bill.referred) &&
    (!taSrc.requiresInProvince || bill.inProvince) &&
    // 004 第十三条 with 第十九条: the burden of a 医疗救助对象, counted from identification on
    (rs.readings.tiltedBurdenWhile === 'any-time' || target)
  ) {
    const before = acc.tiltedBurden;
    const after = before + personal;
    acc.tiltedBurden = after;
    if (target) {
      const excess = maxFen(0, after - ta.threshold) - maxFen(0, before - ta.threshold);
      const raw = applyRatio(excess, ta.ratio);
      const cap = capped(raw, ta.annualCap, acc.tiltedPaid);
      tiltedPay = cap.amount;
      acc.tiltedPaid += tiltedPay;
      const steps: ProcStep[] = [
        step({
          step: 'threshold',
          base: formatFen(personal),
          amount: formatFen(excess),
          deductible: formatFen(ta.threshold),
          note: `year-to-date burden ${formatFen(before)} → ${formatFen(after)} against the monitoring income standard (burden counted ${rs.readings.tiltedBurdenWhile === 'any-time' ? 'all year' : 'while an assistance target'}, on ${rs.readings.tiltedBurdenVisits === 'every-visit' ? 'every referred in-province visit' : `${[...ta.visitClasses].join(', ')} visits`})`,
          article: taSrc.article,
        }),
        step({
          step: 'ratio',
          base: formatFen(excess),
          amount: formatFen(raw),
          ratio: formatBp(ta.ratio),
          article: taSrc.article,
        }),
      ];
      if (ta.annualCap !== null) {
        steps.push(
          step({
            step: 'cap',
            base: formatFen(raw),
            amount: formatFen(tiltedPay),
            cap: formatFen(ta.annualCap),
            capHit: cap.hit,
            article: taSrc.article,
          }),
        );
      }
      lines.push({ fund: 'tilted', amount: tiltedPay, steps });
    }
  }
  personal -= tiltedPay;

  acc.inscpSelfPay += personal;
  acc.cashSelfPay += personal + outOfScope;
  return {
    category,
    lines,
    actPayDedc,
    funds: {
      basic: basicPay,
      critical: criticalPay,
      commercial: commercialPay,
      assistance: assistancePay,
      tilted: tiltedPay,
    },
    inscpPsnPart: personal,
    acc,
  };
}

function yearOf(date: string, field: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (m === null || m[1] === undefined) {
    throw new EngineError(
      'INVALID_DATE',
      field,
      'date: YYYY-MM-DD',
      `${field} must be YYYY-MM-DD, got "${date}"`,
    );
  }
  return Number.parseInt(m[1], 10);
}

/** Settles one bill. Throws EngineError, naming the field and rule, for input it cannot settle. */
export function settle(input: SettleInput): SettlementResult {
  const { bill, ruleSet: rs } = input;
  const src = rs.src;
  const year = yearOf(bill.dischargeDate, 'endtime');
  if (year !== src.year) {
    throw new EngineError(
      'RULE_SET_YEAR',
      'endtime',
      'the rule set resolved for the discharge year',
      `bill discharged in ${year} but the rule set ${src.version} holds the figures of ${src.year}`,
    );
  }
  if (input.accumulators.year !== year) {
    throw new EngineError(
      'ACCUMULATOR_YEAR',
      'accumulators.year',
      '自然年度: accumulators belong to the discharge year',
      `accumulators of ${input.accumulators.year} given for a bill discharged in ${year}`,
    );
  }
  let kind: VisitKindRule | undefined;
  if (bill.visitKind !== undefined) {
    kind = rs.visitKinds.get(bill.visitKind);
    if (kind === undefined || !kind.medTypes.includes(bill.medType)) {
      throw new EngineError(
        'UNSUPPORTED_VISIT_KIND',
        'visit_kind',
        `visit kinds settled in ${src.region}: ${[...rs.visitKinds]
          .map(([k, r]) => `${k} (med_type ${r.medTypes.join('/')})`)
          .join(', ')}`,
        `visit_kind "${bill.visitKind}" with med_type "${bill.medType}" is not settled by rule set ${src.version}`,
      );
    }
  }
  const vc = kind?.visitClass ?? src.medTypes[bill.medType];
  if (vc === undefined) {
    throw new EngineError(
      'UNSUPPORTED_MED_TYPE',
      'med_type',
      `med_type settled in ${src.region}: ${Object.keys(src.medTypes).join(', ')}`,
      `med_type "${bill.medType}" is not settled by rule set ${src.version}`,
    );
  }
  const total = parseFen(bill.medfeeSumamt, 'medfee_sumamt');
  const fulamt = parseFen(bill.fulamtOwnpayAmt, 'fulamt_ownpay_amt');
  const overlmt = parseFen(bill.overlmtSelfpay, 'overlmt_selfpay');
  const preself = parseFen(bill.preselfpayAmt, 'preselfpay_amt');
  const inscp = parseFen(bill.inscpScpAmt, 'inscp_scp_amt');
  if (fulamt + overlmt + preself + inscp !== total) {
    throw new EngineError(
      'AMOUNTS_DO_NOT_ADD_UP',
      'medfee_sumamt',
      'medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt',
      `medfee_sumamt ${formatFen(total)} ≠ ${formatFen(fulamt + overlmt + preself + inscp)}, the sum of its parts`,
    );
  }

  const warnings: string[] = [];
  if (bill.upstream !== undefined) {
    warnings.push(
      'insurance tiers (hifp_pay, hifmi_pay, hifob_pay) settled upstream by the medical-insurance platform; the gateway computed medical assistance and tilted assistance only',
    );
  }
  const candidates: string[] = [];
  for (const id of bill.identities) {
    if (!rs.categoryRank.has(id)) {
      throw new EngineError(
        'UNKNOWN_IDENTITY',
        'identities',
        `identity codes of ${src.region}: ${src.categories.map((c) => c.code).join(', ')}`,
        `identity "${id}" is not a category of ${src.region}`,
      );
    }
    if (!candidates.includes(id)) candidates.push(id);
  }

  const start = readAcc(input.accumulators);
  const outOfScope = fulamt + overlmt + preself;
  let best: Outcome | null = null;
  if (candidates.length === 0) {
    best = evaluate(bill, vc, kind, inscp, outOfScope, start, rs, null);
  } else {
    // Several identities: the most generous category, never two (004 第十四条, 002 第十四条).
    // on a tie (004 第十四条 reading identityTie) the first in rank or in the bill's order wins
    const order =
      rs.readings.identityTie === 'identity-order'
        ? candidates
        : [...candidates].sort(
            (a, b) => (rs.categoryRank.get(a) ?? 0) - (rs.categoryRank.get(b) ?? 0),
          );
    for (const c of order) {
      const o = evaluate(bill, vc, kind, inscp, outOfScope, start, rs, c);
      if (best === null || o.inscpPsnPart < best.inscpPsnPart) best = o;
    }
    if (best !== null && candidates.length > 1) {
      warnings.push(
        `several identities (${candidates.join(', ')}): the most generous, ${best.category ?? ''}, applied (${src.articles.identities})`,
      );
    }
  }
  const o = best as Outcome;

  const f = o.funds;
  const maf = f.assistance + f.tilted;
  const fundSum = f.basic + f.critical + f.commercial + maf;
  const psnPart = total - fundSum;
  const codes = src.fundCodes[bill.insutype];
  const setldetail: SetlDetail[] = o.lines.map((l) => {
    const d: SetlDetail = {
      fundPayType: codes[l.fund],
      fund: l.fund,
      fundPayamt: formatFen(l.amount),
      setlProcInfo: l.steps,
    };
    if (l.bucket !== undefined) d.bucket = l.bucket;
    return d;
  });

  return {
    setlinfo: {
      medfeeSumamt: formatFen(total),
      fulamtOwnpayAmt: formatFen(fulamt),
      overlmtSelfpay: formatFen(overlmt),
      preselfpayAmt: formatFen(preself),
      inscpScpAmt: formatFen(inscp),
      actPayDedc: formatFen(o.actPayDedc),
      hifpPay: formatFen(f.basic),
      hifmiPay: formatFen(f.critical),
      mafPay: formatFen(maf),
      othPay: formatFen(f.commercial),
      fundPaySumamt: formatFen(fundSum),
      psnPartAmt: formatFen(psnPart),
      acctPay: '0.00',
      psnCashPay: formatFen(psnPart),
      inscpPsnPart: formatFen(o.inscpPsnPart),
    },
    setldetail,
    categoryUsed: o.category,
    ruleSetVersion: src.version,
    visitClass: vc,
    ...(bill.visitKind !== undefined ? { visitKind: bill.visitKind } : {}),
    accumulators: writeAcc(year, o.acc),
    warnings,
  };
}

/**
 * The engine's vocabulary. Field names follow the national medical-insurance platform where one
 * exists (2303/2304 `setlinfo`, `setldetail`), in camelCase inside the engine; the codecs in
 * libs/messaging map them to the wire names (`medfee_sumamt`, …).
 *
 * Money is always a decimal string with two places on the way in and out ("1234.50"); inside the
 * engine it is a `Money` (a Decimal from the engine's own clone, see money.ts).
 */

/** insutype: 390 城乡居民基本医疗保险, 310 职工基本医疗保险. */
export type Insutype = '390' | '310';

/**
 * What kind of visit the bill is, as the rules see it. The rule set maps each national `med_type`
 * code onto one of these (e.g. 11 → ordinary-outpatient, 14 → chronic-outpatient, 21 → inpatient).
 */
export type VisitClass = 'ordinary-outpatient' | 'emergency' | 'chronic-outpatient' | 'inpatient';

export const VISIT_CLASSES: readonly VisitClass[] = [
  'ordinary-outpatient',
  'emergency',
  'chronic-outpatient',
  'inpatient',
];

/**
 * A kind of visit the articles name that med_type alone cannot say (002 第九条): 抢救 (rescue,
 * incl. pre-hospital), 日间手术 (day surgery), 协议期内国家谈判药品门诊 (negotiated-drug
 * outpatient use), 急诊入院 (an admission through the emergency department). The rule set says
 * for each how it counts (ResolvedRuleSet.visitKinds).
 */
export type VisitKind = 'rescue' | 'day-surgery' | 'negotiated-drug' | 'emergency-admission';

export const VISIT_KINDS: readonly VisitKind[] = [
  'rescue',
  'day-surgery',
  'negotiated-drug',
  'emergency-admission',
];

/** How a rule set counts one visit kind. */
export interface VisitKindRule {
  /** the med_types the kind may come with */
  medTypes: string[];
  /** the visit class insurance and tilted assistance see */
  visitClass: VisitClass;
  /** the assistance bucket it counts in (its deductible group and cap); null: not assisted */
  bucket: string | null;
  /** exempt from the referral rule (002 第九条: 急诊抢救) */
  referralExempt: boolean;
  article: string;
}

/** The insurance tiers settled by the platform, in its names (2304 setlinfo), money strings. */
export interface UpstreamTiers {
  /** hifp_pay: basic medical insurance pooled fund */
  hifpPay: string;
  /** hifmi_pay: critical-illness insurance */
  hifmiPay: string;
  /** hifob_pay: the supplementary tier after critical illness (here: inclusive commercial insurance) */
  hifobPay: string;
  /** act_pay_dedc: the basic deductible the person actually bore on this bill */
  actPayDedc: string;
}

/** Hospital level (医院等级): 1 = primary/community, 2 = secondary, 3 = tertiary. */
export type HospitalLevel = '1' | '2' | '3';

/** One discharge bill, already decoded and validated by an adapter. */
export interface Bill {
  /** 定点医药机构编号 */
  fixmedinsCode: string;
  /** 就诊ID: the visit; with fixmedinsCode it identifies the bill */
  mdtrtId: string;
  /** 人员编号 */
  psnNo: string;
  insutype: Insutype;
  /** national 医疗类别 code, e.g. "11", "13", "14", "21" */
  medType: string;
  hospitalLevel: HospitalLevel;
  /** admission / visit date, YYYY-MM-DD */
  admissionDate: string;
  /** discharge / settlement date, YYYY-MM-DD: picks the rule set and the accumulator year */
  dischargeDate: string;
  /** referred per the rules (规范转诊) */
  referred: boolean;
  /** treated inside the province (省域内) */
  inProvince: boolean;
  /** a follow-up visit (复诊): exempt from the referral rule in Baoshan (002 第九条) */
  followUp: boolean;
  /** enrolled in the region's inclusive commercial health insurance (普惠型商业健康保险) */
  commercialEnrolled: boolean;
  /** the assistance categories the person holds on the discharge date (local codes of the rule set) */
  identities: string[];
  /** visit_kind: a kind the articles name (rescue, day surgery, …); absent: med_type alone */
  visitKind?: VisitKind;
  /**
   * The insurance tiers as the medical-insurance platform already settled them (upstream-settled
   * mode): the gateway then computes only assistance and tilted assistance on top. Absent: the
   * gateway computes every tier from the rule set's (example) insurance parameters.
   */
  upstream?: UpstreamTiers;
  /** 医疗费总额 */
  medfeeSumamt: string;
  /** 全自费金额: outside the catalogue */
  fulamtOwnpayAmt: string;
  /** 超限价自费费用: over the price limit */
  overlmtSelfpay: string;
  /** 先行自付金额: the part of class-B items the person pays first */
  preselfpayAmt: string;
  /** 符合政策范围金额: in-scope cost */
  inscpScpAmt: string;
}

/**
 * A person's year-to-date position in one calendar year (自然年度, everything resets on 1 January).
 * Keys of the maps are the rule set's bucket names. All values are money strings.
 */
export interface Accumulators {
  /** the calendar year these figures belong to */
  year: number;
  /** basic insurance: deductible consumed per deductible group (only for per-year deductibles) */
  basicDeductibleUsed: Record<string, string>;
  /** basic insurance: paid per cap group */
  basicPaid: Record<string, string>;
  /** critical illness: accumulated in-scope personal part after basic (the base), and paid */
  criticalBase: string;
  criticalPaid: string;
  /** inclusive commercial insurance: accumulated base and paid */
  commercialBase: string;
  commercialPaid: string;
  /** medical assistance: deductible consumed per deductible group */
  assistanceDeductibleUsed: Record<string, string>;
  /** medical assistance: paid per cap bucket */
  assistancePaid: Record<string, string>;
  /** tilted assistance: accumulated in-scope personal burden after assistance, and paid */
  tiltedBurden: string;
  tiltedPaid: string;
  /** year-to-date in-scope personal part after every fund (个人负担的政策范围内费用) */
  inscpSelfPay: string;
  /** year-to-date personal cash (个人现金支付, all cost the person paid) */
  cashSelfPay: string;
}

/** A deductible, ratio and cap for one visit class in one insurance tier. */
export interface BasicTierRule {
  /** deductible by hospital level (起付线) */
  deductibleByLevel: Record<HospitalLevel, string>;
  /** reimbursement ratio by hospital level, e.g. "0.70" */
  ratioByLevel: Record<HospitalLevel, string>;
  /** whether the deductible applies to each visit or accumulates over the year */
  deductiblePer: 'visit' | 'year';
  /** deductibles with the same group accumulate together (per-year deductibles only) */
  deductibleGroup: string;
  /** annual cap (年度最高支付限额); null = none */
  annualCap: string | null;
  /** visit classes sharing the same group share one annual cap */
  capGroup: string;
}

export interface Segment {
  /** upper edge of the segment on the base above the deductible; null = open-ended */
  upTo: string | null;
  ratio: string;
}

export interface CriticalIllnessRule {
  /** visit classes whose in-scope personal part counts toward the critical-illness base */
  visitClasses: VisitClass[];
  /** annual deductible on the accumulated base */
  deductible: string;
  /** ratios by segment of the accumulated base above the deductible, in ascending order */
  segments: Segment[];
  annualCap: string | null;
}

export interface TiltRule {
  /** categories that get the tilt (004 第八条: 特困, 孤儿, 低保) */
  categories: string[];
  /** deductible multiplied by this (0.5 = halved) */
  deductibleFactor: string;
  /** added to each ratio (0.05 = +5 points) */
  ratioAddition: string;
}

export interface CommercialRule {
  visitClasses: VisitClass[];
  deductible: string;
  ratio: string;
  annualCap: string | null;
}

/** How an assistance category treats one assistance bucket. */
export interface AssistanceTerms {
  /** annual deductible; null = none */
  deductible: string | null;
  ratio: string;
  /** annual cap; null = none */
  annualCap: string | null;
}

export interface AssistanceBucket {
  /** bucket name, e.g. "inpatient-chronic" */
  name: string;
  visitClasses: VisitClass[];
  /** buckets with the same deductible group accumulate one deductible */
  deductibleGroup: string;
  /** whether cost without a proper referral is excluded from this bucket */
  referralRequired: boolean;
  /** visit classes or flags exempt from the referral rule (002 第九条: emergency, follow-up) */
  referralExempt: { visitClasses: VisitClass[]; followUp: boolean };
  /** terms by category; a category absent here gets nothing from this bucket */
  terms: Record<string, AssistanceTerms>;
  /** the article behind this bucket, for setl_proc_info */
  article: string;
}

/** Treatment first, pay later: who is admitted without a deposit. */
export interface DepositWaiverRule {
  categories: string[];
  visitClasses: VisitClass[];
  requiresReferral: boolean;
  article: string;
}

/** Retroactive assistance (004 第十九条): from when a newly identified person's bills are redone. */
export interface RetroactiveRule {
  /** 'identification-date': bills discharged on or after the identity's valid_from;
   * 'calendar-year': every bill of that calendar year */
  from: 'identification-date' | 'calendar-year';
  article: string;
}

/** Active discovery (004 第十八条): the year's personal self-pay above share × a figure. */
export interface HighBurdenRule {
  share: string;
  /** the figure it is a share of (e.g. pcdi) and its amount this year */
  figure: string;
  /** share × the figure, to the fen: crossing it raises the alert */
  threshold: string;
  article: string;
}

export interface TiltedAssistanceRule {
  /** categories eligible (Reading: the assistance categories) */
  categories: string[];
  /** visit classes whose burden accumulates */
  visitClasses: VisitClass[];
  requiresReferral: boolean;
  requiresInProvince: boolean;
  /** threshold: the monitoring income standard of the year */
  threshold: string;
  ratio: string;
  annualCap: string | null;
  article: string;
}

/**
 * How a rule set reads the clauses the articles leave open (docs/adr/0004). Each is a named
 * choice of the rule set, with its article; a rule set that does not say takes the reading closest
 * to the text (DEFAULT_READINGS).
 */
export interface ReadingSettings {
  /**
   * 004 第十三条 with 第十九条: whose in-scope personal burden accumulates toward tilted assistance.
   * 'assistance-target': only bills settled while the person holds an eligible category (第十三条
   * names 医疗救助对象; 第十九条 makes the identification date the start); 'any-time': every
   * bill of the year, so a later identification sees the whole year's burden.
   */
  tiltedBurdenWhile: 'assistance-target' | 'any-time';
  /**
   * 004 第十三条: which visits' burden counts. 'every-visit': every referred, in-province visit
   * (the article names no visit kind); 'listed-classes': only tilted.visitClasses.
   */
  tiltedBurdenVisits: 'every-visit' | 'listed-classes';
  /**
   * 004 第十四条, 002 第十四条: when two identities leave the patient the same amount, which one is
   * recorded. 'category-rank': the category the rule set ranks first (就高: the higher standard);
   * 'identity-order': the identity listed first on the bill.
   */
  identityTie: 'category-rank' | 'identity-order';
}

export const DEFAULT_READINGS: Readonly<ReadingSettings> = {
  tiltedBurdenWhile: 'assistance-target',
  tiltedBurdenVisits: 'every-visit',
  identityTie: 'category-rank',
};

export interface Category {
  code: string;
  name: string;
  /** lower rank = more generous in a tie */
  rank: number;
}

/** Fund pay type codes written on setldetail lines. */
export interface FundCodes {
  basic: string;
  critical: string;
  commercial: string;
  assistance: string;
  tilted: string;
}

/**
 * A rule set with the year's figures already applied: every threshold is a money amount. This is
 * what the engine consumes; libs/rules builds it from the versioned data files.
 */
export interface ResolvedRuleSet {
  /** e.g. "panzhihua-2023.1+figures-2024.1" — stored on each settlement */
  version: string;
  region: string;
  year: number;
  /** national med_type → visit class; a med_type absent here is not settled by this region */
  medTypes: Record<string, VisitClass>;
  categories: Category[];
  basic: Record<Insutype, Partial<Record<VisitClass, BasicTierRule>>>;
  critical: Record<Insutype, CriticalIllnessRule | null>;
  tilt: TiltRule | null;
  commercial: CommercialRule | null;
  assistance: AssistanceBucket[];
  tilted: TiltedAssistanceRule | null;
  depositWaiver: DepositWaiverRule | null;
  retroactive: RetroactiveRule;
  highBurden: HighBurdenRule | null;
  fundCodes: Record<Insutype, FundCodes>;
  articles: {
    basic: string;
    critical: string;
    tilt: string;
    commercial: string;
    order: string;
    identities: string;
  };
  /** the readings of open clauses; absent: DEFAULT_READINGS */
  readings?: ReadingSettings;
  /** how each visit kind counts; a kind absent here is refused for this region */
  visitKinds?: Partial<Record<VisitKind, VisitKindRule>>;
}

/** One step of a fund line's computation (setl_proc_info). */
export interface ProcStep {
  /** what this step did, e.g. "deductible", "ratio", "cap", "referral", "segment" */
  step: string;
  /** the base it worked on */
  base: string;
  /** its result */
  amount: string;
  ratio?: string;
  deductible?: string;
  cap?: string;
  capHit?: boolean;
  note?: string;
  article: string;
}

export type FundKind = 'basic' | 'critical' | 'commercial' | 'assistance' | 'tilted';

export interface SetlDetail {
  /** fund_pay_type */
  fundPayType: string;
  fund: FundKind;
  /** fund_payamt */
  fundPayamt: string;
  /** bucket or cap group the amount counts against */
  bucket?: string;
  /** setl_proc_info: the steps that produced the amount */
  setlProcInfo: ProcStep[];
}

/** The one bill, in the national platform's terms (setlinfo), plus our own fields. */
export interface SetlInfo {
  medfeeSumamt: string;
  fulamtOwnpayAmt: string;
  overlmtSelfpay: string;
  preselfpayAmt: string;
  inscpScpAmt: string;
  /** act_pay_dedc: basic deductible actually borne in this bill */
  actPayDedc: string;
  /** hifp_pay: basic pooled fund */
  hifpPay: string;
  /** hifmi_pay: critical illness insurance */
  hifmiPay: string;
  /** maf_pay: medical assistance fund (assistance + tilted assistance) */
  mafPay: string;
  /** oth_pay: other funds (inclusive commercial insurance) */
  othPay: string;
  /** fund_pay_sumamt */
  fundPaySumamt: string;
  /** psn_part_amt: the person's part (total − funds) */
  psnPartAmt: string;
  /** acct_pay: personal account; this gateway pays nothing from it */
  acctPay: string;
  /** psn_cash_pay */
  psnCashPay: string;
  /** the in-scope part of the person's payment (个人负担的政策范围内费用) */
  inscpPsnPart: string;
}

export interface SettlementResult {
  setlinfo: SetlInfo;
  setldetail: SetlDetail[];
  /** the assistance category used (the most generous one), or null */
  categoryUsed: string | null;
  /** rule-set version applied */
  ruleSetVersion: string;
  visitClass: VisitClass;
  /** the visit kind the bill was settled as, when it said one */
  visitKind?: VisitKind;
  /** the person's new year-to-date position: the caller stores it */
  accumulators: Accumulators;
  warnings: string[];
}

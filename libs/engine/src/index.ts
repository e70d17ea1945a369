export * from './types';
export { EngineError } from './errors';
export { compileRuleSet, type CompiledRuleSet } from './compile';
export { settle, compiled, emptyAccumulators, type SettleInput } from './settle';
export {
  parseFen,
  formatFen,
  parseBp,
  formatBp,
  applyRatio,
  MAX_FEN,
  type Fen,
  type Bp,
} from './money';
export { accumulatorsFrom, withContribution, withoutContribution } from './accumulators';
export { depositWaiver, type AdmissionFacts, type DepositWaiver } from './waiver';
export {
  enrollmentSubsidy,
  type EnrollmentSubsidy,
  type EnrollmentSubsidyRule,
} from './enrollment';

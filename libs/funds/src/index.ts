/**
 * @onebill/funds — fund statements (issue 5 item 7): Panzhihua deficits (000 第十七、十八条),
 * Baoshan overspend sharing (002 第二十一条), Jilin factor allocation (003 第七条).
 * Pure arithmetic over data: no I/O, no clock. See libs/funds/README.md and docs/adr/0007.
 */
export { FundInputError } from './money';
export {
  panzhihuaDeficit,
  PANZHIHUA_COUNTIES,
  PANZHIHUA_CITY_SUBSIDY_RATE,
  MANAGEMENT_DEFICIT_REASONS,
} from './panzhihua';
export type {
  ManagementDeficit,
  ManagementDeficitReason,
  PanzhihuaDeficitInput,
  PanzhihuaDeficitResult,
} from './panzhihua';
export { baoshanOverspend, BAOSHAN_COUNTIES } from './baoshan';
export type { BaoshanBand, BaoshanOverspendInput, BaoshanOverspendResult } from './baoshan';
export { allocateByFactors } from './factors';
export type {
  FactorAllocationInput,
  FactorAllocationResult,
  FactorAllocationRow,
  FactorDef,
  FactorKind,
  FactorRegion,
} from './factors';
export { parseFundYear, fundStatement, fundModuleOf, fundRegions, spendingCounties } from './year';
export type {
  BaoshanStatement,
  BaoshanYear,
  FundModule,
  FundStatement,
  FundYear,
  JilinStatement,
  JilinYear,
  PanzhihuaStatement,
  PanzhihuaYear,
  StatementHead,
  YearHeader,
} from './year';

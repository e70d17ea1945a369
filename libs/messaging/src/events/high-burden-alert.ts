/**
 * `alerts.high-burden.v1`: active discovery (004 第十八条). A person whose year-to-date personal
 * self-pay first exceeds the line (share × figure, e.g. 50 % of the city's PCDI of the previous
 * year) is reported once per person and year to civil affairs and rural revitalization. Keyed by
 * `psn_no`. JSON Schema: contracts/events/high-burden-alert.v1.schema.json.
 */
export interface HighBurdenAlert {
  event_id: string;
  /**
   * high-burden: raised (once per person and year, again after a withdrawal); -updated: a
   * reversal or a top-up changed the figures, still above the line; -withdrawn: back under it
   */
  event_type: 'high-burden' | 'high-burden-updated' | 'high-burden-withdrawn';
  occurred_at: string;
  psn_no: string;
  /** the calendar year of the self-pay */
  year: number;
  region: string;
  /** year-to-date personal cash self-pay after the bill that crossed the line */
  cash_self_pay: string;
  /** the line: share × figure, to the fen */
  threshold: string;
  share: string;
  /** the figure the line is a share of, e.g. pcdi */
  figure: string;
  /** the bill after which the line was exceeded */
  setl_id: string;
  fixmedins_code: string;
  clr_optins: string;
  article: string;
  /** the person's county: the registry's admdvs, else the hospital's (admdvs_source says which) */
  admdvs?: string;
  admdvs_source?: 'registry' | 'hospital';
  /** updated / withdrawn: the event this one revises */
  revises_event_id?: string;
}

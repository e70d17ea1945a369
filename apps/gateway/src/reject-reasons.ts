/**
 * Every reason the gateway gives for refusing a message or a request, in plain words (中文 and
 * English) with what to do about it (issue 13). The machine code stays the key and is shown beside
 * the words; the bad value is read from the reject itself (the element the field names in the
 * message as it was kept, else the value the message quotes). reject-reasons.spec.ts scans the
 * sources for every code a reject or an API problem can carry and fails on one without words here.
 * Nest-free: the console, the CSV export and the tests read it alike.
 */
import type { DecodeErrorCode } from '@onebill/messaging/xml';
import type { RuleSetError } from '@onebill/rules';

export interface PlainReason {
  /** what went wrong, in Chinese */
  zh: string;
  /** what went wrong, in English */
  en: string;
  /** what to do about it; `{field}` is the field the reject names */
  fix: string;
}

/** The decoder's codes: typed, so that a new one in the union does not compile without words. */
const DECODE: Record<DecodeErrorCode, PlainReason> = {
  TOO_LARGE: {
    zh: '报文太大，超过网关允许的大小。',
    en: 'The message is larger than the gateway accepts.',
    fix: 'Send one bill per message; if a single bill is this large, ask the gateway operator about MAX_MESSAGE_BYTES.',
  },
  EMPTY_MESSAGE: {
    zh: '报文是空的。',
    en: 'The message is empty.',
    fix: "Check the HIS export: it sent nothing. Send the bill's XML.",
  },
  INVALID_ENCODING: {
    zh: '报文的字节不是有效的文字编码（UTF-8 或声明的编码）。',
    en: 'The bytes are not valid text in the declared encoding (UTF-8 unless declared).',
    fix: 'Save or send the message as UTF-8 (or declare encoding="GBK" if it is GBK) and send it again.',
  },
  UNSUPPORTED_ENCODING: {
    zh: '报文声明了网关不支持的编码。',
    en: 'The message declares an encoding the gateway does not read.',
    fix: 'Use encoding="UTF-8" (or GBK / GB18030) in the XML declaration.',
  },
  ENCODING_MISMATCH: {
    zh: '报文声明的编码与实际字节不一致。',
    en: 'The declared encoding does not match the bytes.',
    fix: 'Make the XML declaration name the encoding the file is really saved in.',
  },
  INVALID_CHARACTER: {
    zh: '报文含有不允许的控制字符或方向控制字符。',
    en: 'The message holds a control or direction-override character that no text may hold.',
    fix: 'Remove the invisible character from {field} (often pasted in with a name) and send again.',
  },
  DEPTH_EXCEEDED: {
    zh: 'XML 嵌套层数过深。',
    en: 'The XML nests elements too deeply.',
    fix: 'Send the bill in the documented shape (contracts/xml); it never nests this deep.',
  },
  TOO_MANY_ELEMENTS: {
    zh: 'XML 元素个数过多。',
    en: 'The XML has more elements than any bill needs.',
    fix: 'Send one bill per message in the documented shape.',
  },
  TOO_MANY_ATTRIBUTES: {
    zh: '某个元素的属性过多。',
    en: 'An element has too many attributes.',
    fix: 'Remove the extra attributes; bills carry their data in elements.',
  },
  INVALID_DATE: {
    zh: '日期或时间不是有效的日历时间。',
    en: 'A date or time is not a real calendar time.',
    fix: 'Write {field} as YYYY-MM-DD HH:MM:SS (Beijing time), e.g. 2024-05-10 14:03:07.',
  },
  MALFORMED_XML: {
    zh: '报文不是格式正确的 XML。',
    en: 'The message is not well-formed XML.',
    fix: 'Close every tag and escape & and < in text (&amp; &lt;), then send again.',
  },
  ENTITY_NOT_ALLOWED: {
    zh: '报文含有 DOCTYPE 或实体声明，网关为安全拒收。',
    en: 'The message holds a DOCTYPE or entity declaration, which the gateway refuses for safety.',
    fix: 'Remove the <!DOCTYPE …> and any <!ENTITY …> from the message.',
  },
  WRONG_ROOT: {
    zh: '报文的根元素不是该通道接收的类型。',
    en: 'The root element is not what this channel takes.',
    fix: 'Send a <discharge> (or the message this topic/route documents) to this channel.',
  },
  UNSUPPORTED_VERSION: {
    zh: '报文版本号不受支持。',
    en: 'The message version is not supported.',
    fix: 'Set <version>1</version>.',
  },
  MISSING_FIELD: {
    zh: '缺少必填字段。',
    en: 'A required field is missing.',
    fix: 'Add <{field}> with its value to the message and resubmit.',
  },
  INVALID_FIELD: {
    zh: '字段的值格式不对。',
    en: 'A field has a value of the wrong form.',
    fix: 'Correct <{field}>: amounts like 1234.50 (at most two decimals), codes as documented in contracts/xml.',
  },
  UNKNOWN_FIELD: {
    zh: '报文含有未定义的元素。',
    en: 'The message holds an element the contract does not define.',
    fix: 'Remove <{field}> or correct its spelling.',
  },
  AMOUNTS_DO_NOT_ADD_UP: {
    zh: '金额之和与总额不符。',
    en: 'The amounts do not add up to the total.',
    fix: 'Make medfee_sumamt equal the sum of its parts (fully self-paid + over the limit + pre-self-paid + in scope).',
  },
  DISCHARGE_BEFORE_ADMISSION: {
    zh: '出院时间早于入院时间。',
    en: 'The discharge time is before the admission time.',
    fix: 'Correct begntime / endtime so that the discharge comes after the admission.',
  },
};

/** The rule sets' and figures' codes: typed against RuleSetError's union. */
const RULES: Record<RuleSetError['code'], PlainReason> = {
  UNKNOWN_REGION: {
    zh: '医院所属地区没有规则集。',
    en: "The hospital's region has no rule set.",
    fix: 'Ask the gateway operator to add the region to config/hospitals.json and its rule set.',
  },
  NO_RULE_SET_IN_FORCE: {
    zh: '出院日期没有生效的结算规则。',
    en: 'No settlement rule set is in force on the discharge date.',
    fix: 'Check the discharge date (endtime); if it is right, the operator must add the rule set for that date.',
  },
  NO_FIGURES_FOR_YEAR: {
    zh: '出院年度缺少年度政策数值（起付线、限额等）。',
    en: "The discharge year's policy figures (deductibles, caps) are missing.",
    fix: "The operator adds that year's figures in config/figures, then resubmits.",
  },
  MISSING_FIGURE: {
    zh: '年度政策数值缺少一项。',
    en: "A figure is missing from the year's policy figures.",
    fix: 'The operator adds {field} to the figures file, then resubmits.',
  },
  FIGURE_BELOW_MINIMUM: {
    zh: '年度政策数值低于政策下限。',
    en: "A year's figure is below the policy's minimum.",
    fix: 'The operator corrects {field} in the figures file.',
  },
  INVALID_RULE_SET: {
    zh: '规则集本身有误。',
    en: 'The rule set itself is inconsistent.',
    fix: 'Not the hospital: the operator corrects the rule set ({field}), then resubmits.',
  },
  INVALID_FIGURES: {
    zh: '年度政策数值文件有误。',
    en: 'The policy figures file is invalid.',
    fix: 'The operator corrects {field} in config/figures, then resubmits.',
  },
  OVERLAPPING_RULE_SETS: {
    zh: '同一日期有两个规则集同时生效。',
    en: 'Two rule sets are in force on the same date.',
    fix: 'The operator makes the rule sets’ validity periods not overlap.',
  },
  UNKNOWN_RULE_SET_VERSION: {
    zh: '找不到指定版本的规则集。',
    en: 'The named rule set version does not exist.',
    fix: 'Use a version listed by the gateway (config/rules).',
  },
  FIGURES_REVISION_UNAVAILABLE: {
    zh: '找不到指定修订的年度政策数值。',
    en: 'The named revision of the figures is not available.',
    fix: 'Use a revision that exists in config/figures.',
  },
  NO_ENROLLMENT_SUBSIDY: {
    zh: '该身份在本年度没有参保资助数值。',
    en: "The year's figures have no enrollment subsidy for this identity.",
    fix: "The operator adds the subsidy to the year's figures.",
  },
  INVALID_REGISTRY: {
    zh: '医院或身份登记文件有误。',
    en: 'The registry (hospitals or identities) is invalid.',
    fix: 'The operator corrects {field} in the registry file.',
  },
  INVALID_ACCUMULATORS: {
    zh: '该参保人的年度累计数据有误。',
    en: "The person's year-to-date totals are invalid.",
    fix: "The operator checks the person's accumulators for the year; the hospital need not change the bill.",
  },
};

/** The gateway's own codes and the engine's. */
const GATEWAY: Record<string, PlainReason> = {
  FORBIDDEN_HOSPITAL: {
    zh: '该凭证只能提交本机构的报文，报文却属于另一家医院。',
    en: "This credential sends only its own institution's messages; the message names another hospital.",
    fix: "Send it with that hospital's credential, or correct fixmedins_code.",
  },
  FOREIGN_HOSPITAL: {
    zh: '该凭证只能对账本机构的结算。',
    en: "This credential reconciles only its own institution's bills.",
    fix: "Declare only your own hospital's bills, or use an operator credential.",
  },
  ALREADY_WITHDRAWN: {
    zh: '该身份期间已被撤回，不能再次撤回。',
    en: 'This identity period was already withdrawn; a period is withdrawn once.',
    fix: 'Read GET /api/v1/identities/{psn_no}: its withdrawals list says who withdrew it, when and why; nothing more to do.',
  },
  UNKNOWN_HOSPITAL: {
    zh: '医院编码不是登记在册的定点医疗机构。',
    en: 'The hospital code is not a designated institution in the registry.',
    fix: 'Correct fixmedins_code (H + 11 digits), or ask the operator to add the hospital to config/hospitals.json.',
  },
  HOSPITAL_LEVEL_MISMATCH: {
    zh: '报文中的医院等级与登记的等级不一致。',
    en: "The hospital level in the message is not the registry's level.",
    fix: "Set hosp_lv to the registry's level for the hospital (config/hospitals.json).",
  },
  CONFLICT: {
    zh: '该就诊已按另一张不同的账单结算。',
    en: 'This visit is already settled with a different bill.',
    fix: 'Reverse the settlement in force (2305) first, then send the corrected bill.',
  },
  NOT_SETTLED: {
    zh: '要冲销的结算不存在或已冲销。',
    en: 'The settlement to reverse does not exist or is already reversed.',
    fix: 'Check setl_id and mdtrt_id of the reversal against the settlement.',
  },
  SETL_ID_MISMATCH: {
    zh: '冲销报文的结算号与该就诊的结算不符。',
    en: "The reversal's setl_id is not the visit's settlement.",
    fix: 'Use the setl_id the gateway returned for that visit.',
  },
  INTERNAL_ERROR: {
    zh: '网关处理该报文时出现意外错误，报文已保留。',
    en: 'The gateway failed on this message unexpectedly; the message is kept.',
    fix: 'Nothing to change in the message: the operator looks at the gateway log, then resubmits it as it is.',
  },
  STORE_UNAVAILABLE: {
    zh: '数据库暂时不可用。',
    en: 'The database is not reachable right now.',
    fix: 'Send again in a minute; the operator checks PostgreSQL (DATABASE_URL).',
  },
  ALREADY_RESUBMITTED: {
    zh: '该拒收记录已经重新提交过。',
    en: 'This reject was resubmitted already.',
    fix: 'Open the newer reject it led to and fix that one.',
  },
  BAD_REQUEST: {
    zh: '请求格式不对。',
    en: 'The request is not as the API describes it.',
    fix: 'Check the request against contracts/openapi/gateway.v1.yaml.',
  },
  EMPTY_BODY: {
    zh: '请求体是空的。',
    en: 'The request has no body.',
    fix: "Send the message's XML as the body (content-type application/xml).",
  },
  MALFORMED_JSON: {
    zh: '请求体不是有效的 JSON。',
    en: 'The request body is not valid JSON.',
    fix: 'Send well-formed JSON with content-type application/json.',
  },
  MISSING_QUERY: {
    zh: '缺少查询参数。',
    en: 'A query parameter is missing.',
    fix: 'Add ?{field}=… to the URL.',
  },
  NOT_FOUND: {
    zh: '找不到所查的记录。',
    en: 'Nothing with that id exists (or it is not yours to see).',
    fix: 'Check the id; a hospital credential sees only its own rows.',
  },
  WRONG_ROUTE: {
    zh: '该报文应发往另一个接口。',
    en: 'This message belongs on another route.',
    fix: 'Send it to the route its root element names (see the API documentation).',
  },
  NO_FUND_DATA: {
    zh: '该地区该年度没有基金数据。',
    en: 'There is no fund data for that region and year.',
    fix: 'Add config/funds/<region>-<year>.json, or choose a year that has one.',
  },
  INVALID_FUND_DATA: {
    zh: '基金数据文件有误。',
    en: 'The fund data file is invalid.',
    fix: 'Correct {field} in the config/funds file.',
  },
  NOT_IN_REGISTRY: {
    zh: '身份登记中没有该参保人。',
    en: 'The identity registry knows nothing of this person.',
    fix: 'Check psn_no; a person appears there after an identity change was received.',
  },
  // the engine's
  ACCUMULATOR_YEAR: {
    zh: '年度累计数据不属于出院年度。',
    en: "The year-to-date totals are not of the discharge year's.",
    fix: 'Check the discharge date (endtime); the operator checks the accumulators.',
  },
  INVALID_AMOUNT: {
    zh: '金额不是不超过两位小数的非负数。',
    en: 'An amount is not a non-negative number with at most two decimals.',
    fix: 'Write {field} like 1234.50: no sign, no thousands separator, at most two decimals.',
  },
  INVALID_RATIO: {
    zh: '比例不是 0 到 1 之间的小数。',
    en: 'A ratio is not a decimal between 0 and 1.',
    fix: 'Write {field} as a decimal from 0 to 1 with at most four places, e.g. 0.85.',
  },
  RULE_SET_YEAR: {
    zh: '规则集的年度与出院年度不符。',
    en: 'The rule set holds figures of another year than the discharge year.',
    fix: 'Check endtime; the operator adds the rule set for that year.',
  },
  UNKNOWN_IDENTITY: {
    zh: '身份类别不是本地区的类别。',
    en: "An identity category is not one of the region's.",
    fix: 'Use a category code the region defines (shown beside the bill in the console).',
  },
  UNSUPPORTED_MED_TYPE: {
    zh: '医疗类别不在本地区结算范围内。',
    en: 'The medical type is not settled in this region.',
    fix: 'Correct med_type to one the region settles (the rule names them).',
  },
  UNSUPPORTED_VISIT_KIND: {
    zh: '就诊类型不在本地区结算范围内。',
    en: 'The visit kind is not settled in this region.',
    fix: 'Correct visit_kind (or leave it out) to one the region settles.',
  },
  UPSTREAM_DOES_NOT_ADD_UP: {
    zh: '平台已结算的各级保险金额（或起付线）超过政策范围内费用。',
    en: 'The insurance tiers settled upstream, or the deductible borne upstream, exceed the in-scope cost.',
    fix: 'Correct hifp_pay / hifmi_pay / hifob_pay / act_pay_dedc so they fit within inscp_scp_amt.',
  },
};

export const REJECT_REASONS: Readonly<Record<string, PlainReason>> = {
  ...GATEWAY,
  ...RULES,
  ...DECODE,
};

export interface RejectExplanation extends PlainReason {
  code: string;
  /** the value found wrong, when the reject shows one */
  bad_value: string | null;
}

/** What a reject or problem means, with its bad value where the message or the text shows it. */
export function explainReject(r: {
  reasonCode: string;
  field: string | null;
  message: string;
  payload?: string | null;
}): RejectExplanation {
  const plain = REJECT_REASONS[r.reasonCode] ?? {
    zh: '未归类的原因：见下方说明。',
    en: 'Unlisted reason: see the message below.',
    fix: 'Read the message; ask the gateway operator.',
  };
  const field = r.field ?? 'the field';
  return {
    code: r.reasonCode,
    zh: plain.zh,
    en: plain.en,
    fix: plain.fix.replaceAll('{field}', field),
    bad_value: badValueOf(r),
  };
}

const MAX_VALUE = 80;

function badValueOf(r: {
  reasonCode: string;
  field: string | null;
  message: string;
  payload?: string | null;
}): string | null {
  if (r.reasonCode === 'MISSING_FIELD') return null;
  if (r.reasonCode === 'UNKNOWN_FIELD' && r.field !== null) return `<${r.field}>`;
  const leaf = r.field
    ?.split('.')
    .pop()
    ?.replace(/\[\d+\]$/, '');
  if (leaf !== undefined && /^[A-Za-z_][\w-]*$/.test(leaf) && r.payload) {
    const m = new RegExp(`<${leaf}(?:\\s[^>]*)?>([^<]{0,${MAX_VALUE}})</${leaf}>`).exec(
      r.payload.slice(0, 65_536),
    );
    if (m) return m[1] ?? '';
  }
  const quoted = /got "([^"]{0,80})"/.exec(r.message) ?? /"([^"]{1,80})"/.exec(r.message);
  return quoted?.[1] ?? null;
}

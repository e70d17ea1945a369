import 'reflect-metadata';
import {
  IsArray,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateBy,
  type ValidationOptions,
} from 'class-validator';

export const AMOUNT_RE = /^\d{1,12}(\.\d{1,2})?$/;
export const DATETIME_RE =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/;
/**
 * Whether a YYYY-MM-DD… text names a day of the calendar (2024-02-29 does, 2024-02-30 and
 * 2023-02-29 do not). Text of another shape passes: the field's pattern reports it.
 */
export function isCalendarDate(value: unknown): boolean {
  if (typeof value !== 'string') return true;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (m === null) return true;
  // eslint-disable-next-line no-restricted-syntax -- year, month and day of a date, not money
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1) return true;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1] ?? 31;
  return d <= days;
}

/** The decoder reports this rule as INVALID_DATE, with the field. */
export const CALENDAR_DATE = 'isCalendarDate';

export function IsCalendarDate(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: CALENDAR_DATE,
      validator: {
        validate: isCalendarDate,
        defaultMessage: (a) => `${a?.property ?? 'date'} is not a day of the calendar`,
      },
    },
    options,
  );
}

export const CODE_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const FLAG = ['0', '1'];
export const INSUTYPES = ['390', '310'];
export const MED_TYPES = ['11', '13', '14', '21'];
export const HOSP_LVS = ['1', '2', '3'];
/** visit_kind (optional): the kinds 002 第九条 names that med_type cannot say */
export const VISIT_KINDS = ['rescue', 'day-surgery', 'negotiated-drug', 'emergency-admission'];
export const IDENTITY_CODES = [
  'tekun',
  'guer',
  'dibao',
  'dibao_edge',
  'monitored',
  'illness_poor',
  'de_facto_orphan',
  'relapse_poor',
  'deep_hardship_worker',
  'relative_hardship_worker',
  'county_named',
];

/** Field names are the wire names; the decoder copies plain strings onto a fresh instance. */
export class AdmissionDto {
  @IsString() @Matches(CODE_RE) fixmedins_code!: string;
  @IsString() @Matches(CODE_RE) mdtrt_id!: string;
  @IsString() @Matches(CODE_RE) psn_no!: string;
  @IsString() @IsIn(INSUTYPES) insutype!: string;
  @IsString() @IsIn(MED_TYPES) med_type!: string;
  @IsString() @IsIn(HOSP_LVS) hosp_lv!: string;
  @IsString() @Matches(DATETIME_RE) @IsCalendarDate() begntime!: string;
  @IsString() @IsIn(FLAG) refl_flag!: string;
  @IsString() @IsIn(FLAG) in_prov_flag!: string;
  @IsArray() @IsIn(IDENTITY_CODES, { each: true }) identities!: string[];
}

export class DischargeDto extends AdmissionDto {
  @IsOptional() @IsString() @MaxLength(50) psn_name?: string;
  @IsOptional() @IsString() @Matches(/^[0-9]{17}[0-9X]$/) certno?: string;
  @IsString() @Matches(DATETIME_RE) @IsCalendarDate() endtime!: string;
  @IsString() @IsIn(FLAG) fu_flag!: string;
  @IsString() @IsIn(FLAG) cmi_flag!: string;
  @IsOptional() @IsString() @IsIn(VISIT_KINDS) visit_kind?: string;
  @IsString() @Matches(AMOUNT_RE) medfee_sumamt!: string;
  @IsString() @Matches(AMOUNT_RE) fulamt_ownpay_amt!: string;
  @IsString() @Matches(AMOUNT_RE) overlmt_selfpay!: string;
  @IsString() @Matches(AMOUNT_RE) preselfpay_amt!: string;
  @IsString() @Matches(AMOUNT_RE) inscp_scp_amt!: string;
  // upstream-settled mode (optional): the tiers the medical-insurance platform already settled
  @IsOptional() @IsString() @Matches(AMOUNT_RE) act_pay_dedc?: string;
  @IsOptional() @IsString() @Matches(AMOUNT_RE) hifp_pay?: string;
  @IsOptional() @IsString() @Matches(AMOUNT_RE) hifmi_pay?: string;
  @IsOptional() @IsString() @Matches(AMOUNT_RE) hifob_pay?: string;
}

export class ReversalDto {
  @IsString() @Matches(CODE_RE) fixmedins_code!: string;
  @IsString() @Matches(CODE_RE) mdtrt_id!: string;
  @IsOptional() @IsString() @Matches(CODE_RE) setl_id?: string;
  @IsString() @IsNotEmpty() @MaxLength(200) reason!: string;
}

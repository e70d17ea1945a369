export type DecodeErrorCode =
  | 'TOO_LARGE'
  | 'EMPTY_MESSAGE'
  | 'INVALID_ENCODING'
  | 'UNSUPPORTED_ENCODING'
  | 'ENCODING_MISMATCH'
  | 'INVALID_CHARACTER'
  | 'DEPTH_EXCEEDED'
  | 'TOO_MANY_ELEMENTS'
  | 'TOO_MANY_ATTRIBUTES'
  | 'INVALID_DATE'
  | 'MALFORMED_XML'
  | 'ENTITY_NOT_ALLOWED'
  | 'WRONG_ROOT'
  | 'UNSUPPORTED_VERSION'
  | 'MISSING_FIELD'
  | 'INVALID_FIELD'
  | 'UNKNOWN_FIELD'
  | 'AMOUNTS_DO_NOT_ADD_UP'
  | 'DISCHARGE_BEFORE_ADMISSION';

export interface DecodeError {
  code: DecodeErrorCode;
  field: string | null;
  rule: string;
  message: string;
}

export type Decoded<T> = ({ ok: true } & T) | { ok: false; errors: DecodeError[] };

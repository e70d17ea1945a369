/**
 * The gateway's logger: structured JSON lines through pino, ID-card numbers and names masked
 * (libs/observability/src/log.ts). Kept here so that the gateway's imports stay as they were.
 */
export { Logger, maskCertno, maskName, redact, type Level } from '@onebill/observability/log';

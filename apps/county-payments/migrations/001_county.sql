-- County payment service schema (idempotent: applied at every start).
CREATE SCHEMA IF NOT EXISTS county;

-- One row per settlement event applied: the dedupe key (the outbox gives each event a stable id).
CREATE TABLE IF NOT EXISTS county.processed_events (
  event_id        uuid PRIMARY KEY,
  event_type      text        NOT NULL,
  admdvs          char(6)     NOT NULL,
  fixmedins_code  text        NOT NULL,
  setl_id         text        NOT NULL,
  month           char(7)     NOT NULL,
  fund_pay_sumamt numeric(14,2) NOT NULL,
  topic           text        NOT NULL,
  kafka_partition int         NOT NULL,
  kafka_offset    bigint      NOT NULL,
  processed_at    timestamptz NOT NULL DEFAULT now()
);

-- What the county owes each hospital, per fund and settlement month.
CREATE TABLE IF NOT EXISTS county.payables (
  admdvs         char(6)       NOT NULL,
  fixmedins_code text          NOT NULL,
  fund_pay_type  text          NOT NULL,
  month          char(7)       NOT NULL,
  amount         numeric(14,2) NOT NULL DEFAULT 0,
  events         int           NOT NULL DEFAULT 0,
  updated_at     timestamptz   NOT NULL DEFAULT now(),
  PRIMARY KEY (admdvs, fixmedins_code, fund_pay_type, month)
);

-- Messages that could not be read as a settlement event: kept, never blocking the partition.
CREATE TABLE IF NOT EXISTS county.rejected_events (
  topic           text        NOT NULL,
  kafka_partition int         NOT NULL,
  kafka_offset    bigint      NOT NULL,
  message_key     text,
  event_id_header text,
  reason          text        NOT NULL,
  raw_value       bytea,
  rejected_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, kafka_partition, kafka_offset)
);

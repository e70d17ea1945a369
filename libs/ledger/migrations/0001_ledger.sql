-- The system of record of the one-bill gateway (DESIGN.md, "Flow of one bill").
-- Money is numeric(14,2): exact, fen precision; the application reads and writes it as strings.

-- Every message the gateway consumed (Kafka) or received (HTTP), kept raw with its hash.
CREATE TABLE inbox (
  id             bigserial PRIMARY KEY,
  source         text        NOT NULL CHECK (source IN ('kafka', 'http')),
  topic          text,
  partition      integer,
  "offset"       bigint,
  key            text,
  payload        text        NOT NULL,
  payload_sha256 char(64)    NOT NULL,
  received_at    timestamptz NOT NULL DEFAULT now(),
  -- 'received' only inside the transaction that processes the message: every committed row has
  -- its outcome (DESIGN.md: every consumed message ends as a settlement, a reversal or a reject).
  status         text        NOT NULL
                 CHECK (status IN ('received', 'settled', 'reversed', 'rejected', 'conflict',
                                   'duplicate', 'admitted')),
  correlation_id text,
  -- what the message became, so that a redelivery is answered with the first outcome
  setl_id        text,
  reject_id      bigint,
  CHECK (source <> 'kafka' OR (topic IS NOT NULL AND partition IS NOT NULL AND "offset" IS NOT NULL))
);
-- A redelivered Kafka record is recognised by its position, not by its content.
CREATE UNIQUE INDEX inbox_kafka_position ON inbox (topic, partition, "offset") WHERE source = 'kafka';
CREATE INDEX inbox_received_at ON inbox (received_at);

-- One row per settled bill; a reversal keeps the row and marks it.
CREATE TABLE settlements (
  setl_id          text PRIMARY KEY,
  fixmedins_code   text          NOT NULL,
  mdtrt_id         text          NOT NULL,
  psn_no           text          NOT NULL,
  year             integer       NOT NULL,
  body_hash        char(64)      NOT NULL,
  rule_set_version text          NOT NULL,
  category_used    text,
  clr_optins       text          NOT NULL,
  inbox_id         bigint REFERENCES inbox (id),
  -- when the gateway settled it (Beijing time, as the national platform writes it)
  setl_time        text          NOT NULL,
  -- the settlement.events.v1 event of this settlement: a reversal's event points back to it
  event_id         uuid          NOT NULL UNIQUE,
  -- the person's position before this bill: a reversal takes (after - before) back out
  accumulators_before jsonb      NOT NULL,
  medfee_sumamt    numeric(14,2) NOT NULL,
  fulamt_ownpay_amt numeric(14,2) NOT NULL,
  overlmt_selfpay  numeric(14,2) NOT NULL,
  preselfpay_amt   numeric(14,2) NOT NULL,
  inscp_scp_amt    numeric(14,2) NOT NULL,
  act_pay_dedc     numeric(14,2) NOT NULL,
  hifp_pay         numeric(14,2) NOT NULL,
  hifmi_pay        numeric(14,2) NOT NULL,
  maf_pay          numeric(14,2) NOT NULL,
  oth_pay          numeric(14,2) NOT NULL,
  fund_pay_sumamt  numeric(14,2) NOT NULL,
  psn_part_amt     numeric(14,2) NOT NULL,
  acct_pay         numeric(14,2) NOT NULL,
  psn_cash_pay     numeric(14,2) NOT NULL,
  inscp_psn_part   numeric(14,2) NOT NULL,
  result           jsonb         NOT NULL,
  status           text          NOT NULL DEFAULT 'settled' CHECK (status IN ('settled', 'reversed')),
  created_at       timestamptz   NOT NULL DEFAULT now(),
  reversed_at      timestamptz,
  -- DESIGN.md invariant "Money": funds + patient cash = total.
  CHECK (fund_pay_sumamt + psn_part_amt = medfee_sumamt),
  CHECK ((status = 'reversed') = (reversed_at IS NOT NULL))
);
-- Exactly-once effect: a bill (hospital + visit) is settled at most once at any time.
-- Concurrent duplicates resolve here, whatever the partitioning or the number of consumers.
CREATE UNIQUE INDEX settlements_one_settled_per_bill
  ON settlements (fixmedins_code, mdtrt_id) WHERE status = 'settled';
CREATE INDEX settlements_bill ON settlements (fixmedins_code, mdtrt_id);
CREATE INDEX settlements_person_year ON settlements (psn_no, year);
CREATE INDEX settlements_county_created ON settlements (clr_optins, created_at);

-- A person's year-to-date position (engine Accumulators), row-locked while a bill is settled.
CREATE TABLE accumulators (
  psn_no     text        NOT NULL,
  year       integer     NOT NULL,
  data       jsonb       NOT NULL,
  version    integer     NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (psn_no, year)
);

-- Events to publish, written in the same transaction as the settlement; the relay publishes
-- after commit and marks them. event_id is stable so consumers can dedupe.
CREATE TABLE outbox (
  id           bigserial PRIMARY KEY,
  event_id     uuid        NOT NULL UNIQUE,
  topic        text        NOT NULL,
  key          text,
  payload      text        NOT NULL,
  headers      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Messages that could not be settled, with the reason; an operator may fix and resubmit them.
CREATE TABLE rejects (
  id             bigserial PRIMARY KEY,
  inbox_id       bigint      REFERENCES inbox (id),
  reason_code    text        NOT NULL,
  field          text,
  message        text        NOT NULL,
  payload        text        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  resubmitted_as bigint      REFERENCES inbox (id)
);
CREATE INDEX rejects_created_at ON rejects (created_at);

-- A revoked settlement (interface 2305): the accumulators are restored in the same transaction.
CREATE TABLE reversals (
  id          bigserial PRIMARY KEY,
  setl_id     text        NOT NULL UNIQUE REFERENCES settlements (setl_id),
  inbox_id    bigint      REFERENCES inbox (id),
  reason      text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Admissions (interface 2401): an open visit. Optional for settlement; kept for the cashier's
-- desk and the audit trail. The same visit admitted twice keeps the first row.
CREATE TABLE admissions (
  fixmedins_code text        NOT NULL,
  mdtrt_id       text        NOT NULL,
  psn_no         text        NOT NULL,
  med_type       text        NOT NULL,
  begntime       text        NOT NULL,
  inbox_id       bigint      REFERENCES inbox (id),
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (fixmedins_code, mdtrt_id)
);

/**
 * The topics of the gateway. Names carry their contract version (`.v1`): a breaking change to a
 * message is a new topic, never an in-place change. Partition counts are the defaults that
 * `ensureTopics(TOPIC_SPECS)` creates; keys are what producers must set so that the messages of one
 * key stay in order (correctness never depends on it: the database dedupes).
 */
import type { TopicSpec } from './admin';

export const Topics = {
  /** HIS → gateway: discharge / bill XML (2303/2304 shape). Key: `fixmedins_code`. */
  hisDischarge: 'his.discharge.v1',
  /** Gateway → HIS: rejected inbound messages, reason code + original payload. Key: `fixmedins_code`. */
  hisDischargeRejected: 'his.discharge.rejected.v1',
  /** Gateway → HIS: the one bill (`setlinfo`) for each settled or reversed visit. Key: `fixmedins_code`. */
  hisSettlementResult: 'his.settlement-result.v1',
  /** Gateway → county payment services: settlement events from the outbox. Key: county `admdvs`. */
  settlementEvents: 'settlement.events.v1',
  /** Identity registry → gateway: changes of a person's assistance identities. Key: `psn_no`. */
  identityChanges: 'identity.changes.v1',
  /** Gateway → operators: persons whose out-of-pocket burden crossed the alert line. Key: `psn_no`. */
  alertsHighBurden: 'alerts.high-burden.v1',
  /** HIS → gateway: admissions (opening a visit). Key: `fixmedins_code`. */
  hisAdmission: 'his.admission.v1',
  /**
   * Gateway → auditors: each seal's signed archive head (sequence number, hash, time), the
   * chain's anchor outside the database. Key: `archive`; one partition, kept for ever.
   */
  archiveHeads: 'audit.archive-heads.v1',
} as const;

export type TopicKey = keyof typeof Topics;
export type TopicName = (typeof Topics)[TopicKey];

export const ALL_TOPICS: readonly TopicName[] = Object.values(Topics);

/** Default layout for a fresh cluster (single-node dev/test brokers have replication factor 1). */
export const TOPIC_SPECS: readonly TopicSpec[] = [
  { topic: Topics.hisDischarge, numPartitions: 6 },
  { topic: Topics.hisDischargeRejected, numPartitions: 3 },
  { topic: Topics.hisSettlementResult, numPartitions: 6 },
  { topic: Topics.settlementEvents, numPartitions: 6 },
  { topic: Topics.identityChanges, numPartitions: 3 },
  { topic: Topics.alertsHighBurden, numPartitions: 3 },
  { topic: Topics.hisAdmission, numPartitions: 3 },
  // an anchor that expires anchors nothing: no retention limit
  { topic: Topics.archiveHeads, numPartitions: 1, configs: { 'retention.ms': '-1' } },
];

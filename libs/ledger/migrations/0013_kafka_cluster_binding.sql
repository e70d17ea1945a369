-- The Kafka cluster whose record positions this database holds (docs/adr/0022).
--
-- A Kafka record is recognised as a redelivery by its position (inbox_kafka_position: topic,
-- partition, offset). Positions are only unique within one cluster: a second cluster (a new one
-- after a migration, a broker formatted again, a test's own broker) numbers its records from 0
-- again, and its first records would be taken for redeliveries of the first cluster's and skipped.
-- The gateway binds the database to the cluster it first consumes from and refuses to start on
-- another one (bindKafkaCluster, libs/ledger/src/kafka-binding.ts).
CREATE TABLE kafka_cluster_binding (
  one        boolean     PRIMARY KEY DEFAULT true CHECK (one),
  cluster_id text        NOT NULL CHECK (cluster_id <> ''),
  bound_at   timestamptz NOT NULL DEFAULT now()
);

/**
 * The database's Kafka cluster (migration 0013, docs/adr/0022). A Kafka record is recognised as a
 * redelivery by its position (topic, partition, offset), which only means something within one
 * cluster: consuming another cluster's records into this database would take its first records for
 * redeliveries and skip them, silently. So the first cluster the gateway consumes from is recorded,
 * and any other is refused before a record is read.
 */
import type { Queryable } from './db';

/** The brokers in KAFKA_BROKERS are not the cluster this database's Kafka positions came from. */
export class KafkaClusterMismatchError extends Error {
  constructor(
    readonly boundTo: string,
    readonly boundAt: string,
    readonly offered: string,
  ) {
    super(
      `this database holds the Kafka positions of cluster ${boundTo} (bound ${boundAt}), but the ` +
        `brokers in KAFKA_BROKERS are cluster ${offered}: its records' offsets would be taken for ` +
        `redeliveries and skipped. Point KAFKA_BROKERS at cluster ${boundTo}, or give cluster ` +
        `${offered} a database of its own (DATABASE_URL); see docs/adr/0022`,
    );
    this.name = 'KafkaClusterMismatchError';
  }
}

export function isKafkaClusterMismatch(error: unknown): error is KafkaClusterMismatchError {
  return error instanceof KafkaClusterMismatchError;
}

/**
 * Binds the database to `clusterId` if it is bound to none (a database from before 0013 is taken
 * to belong to the cluster it is started with: the usual upgrade), and answers whether it was
 * bound now; throws KafkaClusterMismatchError if it is bound to another cluster.
 */
export async function bindKafkaCluster(
  db: Queryable,
  clusterId: string,
): Promise<{ boundNow: boolean }> {
  if (clusterId.trim() === '') throw new Error('bindKafkaCluster: the broker named no cluster id');
  const inserted = await db.query(
    `INSERT INTO kafka_cluster_binding (cluster_id) VALUES ($1) ON CONFLICT (one) DO NOTHING`,
    [clusterId],
  );
  if (inserted.rowCount === 1) return { boundNow: true };
  const { rows } = await db.query<{ cluster_id: string; bound_at: string }>(
    `SELECT cluster_id, to_char(bound_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS bound_at
       FROM kafka_cluster_binding`,
  );
  const bound = rows[0];
  if (bound === undefined) throw new Error('kafka_cluster_binding: no row after a conflict');
  if (bound.cluster_id !== clusterId)
    throw new KafkaClusterMismatchError(bound.cluster_id, bound.bound_at, clusterId);
  return { boundNow: false };
}

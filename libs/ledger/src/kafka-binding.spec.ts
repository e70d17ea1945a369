import {
  bindKafkaCluster,
  isKafkaClusterMismatch,
  type KafkaClusterMismatchError,
} from './kafka-binding';
import { usePglite } from './testing/pglite';

describe('the database bound to one Kafka cluster (docs/adr/0022)', () => {
  const database = usePglite();

  it('binds on the first start, takes the same cluster again, refuses another by name', async () => {
    const db = database();
    expect(await bindKafkaCluster(db, 'cluster-A')).toEqual({ boundNow: true });
    expect(await bindKafkaCluster(db, 'cluster-A')).toEqual({ boundNow: false });

    const refused = await bindKafkaCluster(db, 'cluster-B').catch((e: unknown) => e);
    expect(isKafkaClusterMismatch(refused)).toBe(true);
    const error = refused as KafkaClusterMismatchError;
    expect(error.boundTo).toBe('cluster-A');
    expect(error.offered).toBe('cluster-B');
    expect(error.boundAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(error.message).toContain('holds the Kafka positions of cluster cluster-A');
    expect(error.message).toContain('are cluster cluster-B');
    // the binding stays as it was: a refused start changes nothing
    const { rows } = await db.query<{ cluster_id: string }>(
      'SELECT cluster_id FROM kafka_cluster_binding',
    );
    expect(rows).toEqual([{ cluster_id: 'cluster-A' }]);
  });

  it('refuses an empty cluster id rather than bind to it', async () => {
    const db = database();
    await expect(bindKafkaCluster(db, ' ')).rejects.toThrow(/no cluster id/);
  });
});

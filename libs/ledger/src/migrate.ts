/**
 * Applies libs/ledger/migrations/NNNN_name.sql in order, each once, recorded in
 * schema_migrations. All pending files run in one transaction that first takes a transaction
 * advisory lock, so two gateways starting together apply them once: the second waits, then sees
 * them recorded.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from './db';

/** Arbitrary constant shared by every gateway: the advisory-lock key of the migrations. */
const MIGRATION_LOCK_KEY = 7_208_310_390;

export interface Migration {
  version: string;
  name: string;
  sql: string;
  checksum: string;
}

export function defaultMigrationsDir(): string {
  const candidates = [
    path.resolve(__dirname, '../migrations'),
    path.resolve(process.cwd(), 'libs/ledger/migrations'),
  ];
  const found = candidates.find((dir) => existsSync(dir));
  if (!found) throw new Error(`ledger migrations not found in ${candidates.join(' or ')}`);
  return found;
}

export function loadMigrations(dir = defaultMigrationsDir()): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(path.join(dir, file), 'utf8');
      return {
        version: file.slice(0, 4),
        name: file.replace(/\.sql$/, ''),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

/** Returns the names of the migrations applied by this call (empty when up to date). */
export async function migrate(db: Db, migrations = loadMigrations()): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    text PRIMARY KEY,
        name       text NOT NULL,
        checksum   char(64) NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await tx.query<{ version: string; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations',
    );
    const applied = new Map(rows.map((row) => [row.version, row.checksum]));
    const done: string[] = [];
    for (const migration of migrations) {
      const checksum = applied.get(migration.version);
      if (checksum !== undefined) {
        // An applied migration is history: editing it would leave databases that differ.
        if (checksum !== migration.checksum) {
          throw new Error(`migration ${migration.name} changed after it was applied`);
        }
        continue;
      }
      await tx.exec(migration.sql);
      await tx.query(
        'INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
        [migration.version, migration.name, migration.checksum],
      );
      done.push(migration.name);
    }
    return done;
  });
}

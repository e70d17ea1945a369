/**
 * A worker thread of the parallel audit replay (`auditReplay(…, { workers: n })`): it receives
 * stored settlements (the bills of its share of the persons), recomputes each with the engine and
 * answers with each one's differences, in the order received. It reads nothing and writes nothing:
 * the main thread scans the ledger and builds the report, so the report is the sequential one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RuleBook, type RuleBookOptions } from '@onebill/rules';
import type { FieldDiff } from './compare';
import { RuleCache, auditOne, message } from './replay';
import type { StoredSettlement } from './stored';

export interface WorkerRequest {
  id: number;
  rows: StoredSettlement[];
}

export type WorkerOutcome = { diffs: FieldDiff[] } | { error: string };

export interface WorkerAnswer {
  id: number;
  outcomes: WorkerOutcome[];
}

const port = parentPort;
if (port !== null) {
  const cache = new RuleCache(RuleBook.load((workerData as { rules: RuleBookOptions }).rules));
  port.on('message', (req: WorkerRequest) => {
    const outcomes = req.rows.map((s): WorkerOutcome => {
      try {
        return { diffs: auditOne(s, cache) };
      } catch (e) {
        return { error: message(e) };
      }
    });
    port.postMessage({ id: req.id, outcomes } satisfies WorkerAnswer);
  });
}

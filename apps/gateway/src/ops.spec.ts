/**
 * The monitoring kept in ops/ (issue 13) and the gateway's metrics say the same thing: every metric
 * an alert rule or a dashboard panel names is one the gateway serves, so renaming a metric cannot
 * silently turn an alert off or blank a panel. Read from the sources' text, like contracts.spec.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SRC = __dirname;
const ROOT = join(SRC, '..', '..', '..');

/** Metric names the gateway registers (prom-client `name: 'onebill_…'`, and the default ones). */
function servedMetrics(): Set<string> {
  const names = new Set<string>();
  for (const file of readdirSync(SRC).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))) {
    const text = readFileSync(join(SRC, file), 'utf8');
    for (const m of text.matchAll(/name: '(onebill_[a-z_]+)'/g)) names.add(m[1] ?? '');
  }
  // prom-client's default metrics under the prefix of collectDefaultMetrics (metrics.ts)
  for (const d of ['process_cpu_seconds_total', 'process_resident_memory_bytes'])
    names.add(`onebill_${d}`);
  return names;
}

/** onebill_* names used in a PromQL text, histogram suffixes folded onto their metric. */
function usedMetrics(text: string): string[] {
  return [...new Set([...text.matchAll(/\b(onebill_[a-z_]+)/g)].map((m) => m[1] ?? ''))].map((n) =>
    n.replace(/_(bucket|sum|count)$/, ''),
  );
}

describe('monitoring in ops/', () => {
  const served = servedMetrics();

  it('serves the metrics it is checked against (the reader finds them)', () => {
    expect(served.has('onebill_outbox_backlog')).toBe(true);
    expect(served.has('onebill_settle_duration_seconds')).toBe(true);
  });

  it('alerts only on metrics the gateway serves, and each alert says what to do', () => {
    const text = readFileSync(join(ROOT, 'ops/prometheus/alerts.yml'), 'utf8');
    expect(usedMetrics(text).filter((n) => !served.has(n))).toEqual([]);
    const alerts = [...text.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    expect(alerts).toEqual(
      expect.arrayContaining([
        'DatabaseDown',
        'ConsumerLagGrowing',
        'OutboxBacklog',
        'RejectRateHigh',
        'HospitalSilent',
        'SettleLatencyHigh',
      ]),
    );
    expect(text.match(/action:/g)?.length).toBe(alerts.length);
  });

  it('draws only metrics the gateway serves, from the provisioned data source', () => {
    const dash = JSON.parse(
      readFileSync(join(ROOT, 'ops/grafana/dashboards/onebill-gateway.json'), 'utf8'),
    ) as {
      panels: Array<{
        title: string;
        targets: Array<{ expr: string }>;
        datasource: { uid: string };
      }>;
    };
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    expect(usedMetrics(exprs).filter((n) => !served.has(n))).toEqual([]);
    const source = readFileSync(
      join(ROOT, 'ops/grafana/provisioning/datasources/prometheus.yml'),
      'utf8',
    );
    for (const p of dash.panels) expect(source).toContain(`uid: ${p.datasource.uid}`);
  });
});

/**
 * The HIS simulator's feed for an end-to-end run: seeded by the run's prefix (so one run draws the
 * same bills however often it asks), 2024 discharges at every hospital of the rule book.
 */
import type { RuleBook } from '@onebill/rules';
import { Feed, type FeedOptions } from '../../apps/his-simulator/src/feed';

export function runFeed(
  run: string,
  rules: RuleBook,
  mix: Pick<FeedOptions, 'persons' | 'duplicates' | 'malformed'>,
): Feed {
  return new Feed({
    seed: Number.parseInt(run.slice(1), 16) % 100_000,
    year: 2024,
    hospitals: rules
      .allHospitals()
      .map((h) => ({ code: h.fixmedins_code, level: h.level, region: h.region })),
    ...mix,
  });
}

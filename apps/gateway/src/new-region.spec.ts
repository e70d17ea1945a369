/**
 * A throwaway third region ("testland", libs/rules/src/testing/new-region.ts: its rule set, its
 * yearly figures and one registry hospital, nothing else) through the intake on the embedded
 * store: a discharge of its hospital is decoded, routed and settled under its own rule set, and
 * booked to its own county agency (libs/rules/README.md "Adding a region").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PgliteDb } from '@onebill/ledger';
import { RuleBook } from '@onebill/rules';
import { TESTLAND_HOSPITAL, newRegion } from '@onebill/rules/testing/new-region';
import type { IntakeService } from './intake.service';
import { OUTPATIENT, intakeOnPglite, setTag } from './testing/intake-fixtures';

describe('a new region through the intake (libs/rules/README.md "Adding a region")', () => {
  let dir: string;
  let db: PgliteDb;
  let intake: IntakeService;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'onebill-new-region-'));
    ({ db, intake } = await intakeOnPglite(RuleBook.load(newRegion(dir))));
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("settles a discharge of the region's hospital under its rule set, booked to its county", async () => {
    let xml = setTag(OUTPATIENT, 'fixmedins_code', TESTLAND_HOSPITAL);
    xml = setTag(xml, 'mdtrt_id', 'MDT-TESTLAND-1');
    xml = setTag(xml, 'psn_no', 'P9900000001');
    xml = setTag(xml, 'certno', '99010119800101001X');
    // an inpatient stay (med_type 21), referred
    xml = setTag(xml, 'med_type', '21');
    xml = setTag(xml, 'begntime', '2024-05-01 08:30:00');
    xml = setTag(xml, 'endtime', '2024-05-10 10:00:00');
    xml = xml.replace('<identities/>', '<identities><identity>monitored</identity></identities>');
    const outcome = await intake.submit(xml, { kind: 'http' });
    expect(outcome.status).toBe('settled');
    if (outcome.status !== 'settled') throw new Error('not settled');
    expect(outcome.settlement).toMatchObject({
      ruleSetVersion: 'testland-2024.1+figures-2024.1',
      clrOptins: '990101',
    });
    const assistance = outcome.settlement.result.setldetail.find((d) => d.fund === 'assistance');
    // testland 第十二条 (the copy's 004 第十二条 with 8 %): 防止返贫监测 inpatient deductible
    // 8 % × 50,000.00 (its 2024 PCDI) = 4,000.00 — Panzhihua's would be 5 % × 43,567.00 = 2,178.35
    expect(outcome.settlement.categoryUsed).toBe('monitored');
    expect(assistance?.setlProcInfo).toContainEqual(
      expect.objectContaining({ step: 'deductible', deductible: '4000.00' }),
    );
  });
});

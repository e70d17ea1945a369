import { listOperatorActions, recordOperatorAction } from './audit-log';
import { usePglite } from './testing/pglite';

describe("the operators' audit log", () => {
  const database = usePglite();

  it('lists the latest first by number, past ten actions too, and pages back with before', async () => {
    const db = database();
    for (let n = 1; n <= 12; n += 1)
      await recordOperatorAction(db, { actor: 'ops', role: 'operator', action: `a${n}` });
    const latest = await listOperatorActions(db, { limit: 5 });
    // by id as a number: "9" sorts after "12" as text
    expect(latest.map((a) => a.action)).toEqual(['a12', 'a11', 'a10', 'a9', 'a8']);
    const older = await listOperatorActions(db, { limit: 5, before: latest[4]!.id });
    expect(older.map((a) => a.action)).toEqual(['a7', 'a6', 'a5', 'a4', 'a3']);
  });
});

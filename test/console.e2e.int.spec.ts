/**
 * The operator console in a real headless Chromium (Debian's chromium driven by playwright-core)
 * against the compiled gateway, a real Kafka broker and a real PostgreSQL: a bill published to
 * Kafka appears live in the latest messages; searching it shows its computation; a malformed
 * message appears in the reject queue, is fixed in the console, resubmitted, and settles.
 * The page is read through its DOM (ids, data-* attributes), never through canvas pixels.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { billXml, hospitalOf, newRun } from './support/bills';
import { writeCredentials } from './support/credentials';
import { eventually } from './support/eventually';
import { ROOT } from './support/gateway-process';
import { GatewayHarness } from './support/harness';

const RUN = newRun('C');
const GROUP = `gateway-console-${RUN}`;
const CRED = writeCredentials();
const TEMPLATE = 'discharge-panzhihua-14-dibao.xml';
/** how long a message may take from Kafka to the page: the gateway, then a 2 s poll */
const LIVE = { timeout: 30_000 };
const LIVE_MS = { timeoutMs: 30_000 };
const ARTIFACTS = join(ROOT, 'artifacts/console');

interface ApiStep {
  step: string;
  amount: string;
  article: string;
}
interface ApiBill {
  setlinfo: { setl_id: string; fund_pay_sumamt: string; psn_cash_pay: string; psn_no: string };
  setldetail: Array<{ fund_pay_type: string; fund_payamt: string; setl_proc_info: ApiStep[] }>;
}
interface ApiReject {
  reject_id: string;
  reason_code: string;
  field: string | null;
  resubmitted_by: string | null;
  resubmitted_as: string | null;
}

describe('operator console in Chromium (real Kafka, real PostgreSQL, the compiled process)', () => {
  let harness: GatewayHarness;
  let browser: Browser;
  let page: Page;

  const publish = (xml: string): Promise<void> => harness.publish([xml]);
  const api = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${harness.base}${path}`, { headers: CRED.header(CRED.operator) });
    return { status: res.status, body: (await res.json()) as T };
  };

  /** A new tab of the console signed in with this token (as whom the console then says). */
  async function signedIn(token: string, role: string): Promise<Page> {
    const p = await browser.newPage();
    await p.goto(`${harness.base}/console`);
    await p.fill('#token', token);
    await p.click('#sign-in button[type=submit]');
    await p.waitForSelector(`#whoami[data-role="${role}"]`);
    return p;
  }

  /**
   * The open reject of this run's visit, found through the API (the queue has no visit column:
   * the payload tells), once the gateway has recorded it.
   */
  async function rejectOfVisit(visit: string, field: string): Promise<ApiReject> {
    return eventually(async () => {
      const list = await api<{ rejects: ApiReject[] }>('/api/v1/rejects?open=true&limit=500');
      for (const r of list.body.rejects.filter((x) => x.field === field)) {
        const one = await api<ApiReject & { original_payload: string }>(
          `/api/v1/rejects/${r.reject_id}`,
        );
        if (one.body.original_payload.includes(`<mdtrt_id>${visit}</mdtrt_id>`)) return r;
      }
      throw new Error(`no open reject of ${visit} on ${field} yet`);
    }, LIVE_MS);
  }

  beforeAll(async () => {
    // the project installs the browser it needs (Debian's chromium, via apt) when it is missing
    const executablePath = execFileSync(
      'bash',
      [join(ROOT, 'scripts/browser/ensure-chromium.sh')],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ).trim();
    harness = await GatewayHarness.open(GROUP, CRED.file);
    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
    page = await signedIn(CRED.operator, 'operator');
  });

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  it('signs in with a token, says who it is, and refuses a wrong token with the reason', async () => {
    expect(await page.getAttribute('#whoami', 'data-name')).toBe('test-operator');
    // Audit replay and Reconciliation are offered (issue 5)
    for (const id of ['#nav-replay', '#nav-reconciliation']) {
      expect(await page.isDisabled(id)).toBe(false);
    }

    const other = await browser.newPage();
    await other.goto(`${harness.base}/console`);
    await other.fill('#token', 'ob_operator_this-token-is-not-configured-anywhere');
    await other.click('#sign-in button[type=submit]');
    await other.waitForSelector('#sign-in-error:not(:empty)');
    expect(await other.textContent('#sign-in-error')).toContain(
      'not one of a configured credential',
    );
    expect(await other.isHidden('#app')).toBe(true);
    await other.close();
  });

  it('shows a bill published to Kafka live, and its computation with the articles', async () => {
    await page.click('nav button[data-tab="messages"]');
    await page.waitForSelector('#messages', { state: 'visible' });
    // a marker that a reload or navigation would lose: the row must come by polling
    await page.evaluate('window.__sameDocument = true');
    const xml = billXml(RUN, TEMPLATE, 'L1');
    await publish(xml);
    const row = await page.waitForSelector(
      `#messages tbody tr[data-mdtrt-id="${RUN}-L1"][data-setl-id]`,
      LIVE,
    );
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(await row.getAttribute('data-status')).toBe('settled');
    expect(await row.getAttribute('data-hospital')).toBe(hospitalOf(xml));
    const setlId = (await row.getAttribute('data-setl-id')) ?? '';
    expect(setlId).not.toBe('');

    // the flow moved too: messages in on his.discharge.v1, the hospital's settled count
    await page.click('nav button[data-tab="flow"]');
    await page.waitForSelector('#flow-in canvas');
    await page.waitForSelector('#flow-in-legend span[data-topic="his.discharge.v1"]');
    expect(Number(await page.getAttribute('#flow-in', 'data-count'))).toBeGreaterThanOrEqual(1);
    await eventually(async () => {
      const settled = await page.textContent(
        `#by-hospital tr[data-hospital="${hospitalOf(xml)}"] td[data-status="settled"]`,
      );
      expect(Number(settled)).toBeGreaterThanOrEqual(1);
    });

    // search by settlement id: the amounts, each fund and each step with its article, as the API
    await page.click('nav button[data-tab="search"]');
    await page.fill('#search-setl-id', setlId);
    await page.click('#search-by-id button');
    await page.waitForSelector(`#bill-view[data-setl-id="${setlId}"]`);
    const bill = await api<ApiBill>(`/api/v1/settlements/${setlId}`);
    expect(bill.status).toBe(200);
    for (const field of ['fund_pay_sumamt', 'psn_cash_pay'] as const) {
      // shown with thousands separators; the exact amount is in data-amount
      const cell = `#bill-amounts tr[data-field="${field}"] td`;
      expect(await page.getAttribute(cell, 'data-amount')).toBe(bill.body.setlinfo[field]);
      expect((await page.textContent(cell))?.replace(/,/g, '')).toBe(bill.body.setlinfo[field]);
    }
    expect(bill.body.setldetail.length).toBeGreaterThan(0);
    let steps = 0;
    for (const d of bill.body.setldetail) {
      const type = `[data-fund-pay-type="${d.fund_pay_type}"]`;
      expect(
        await page.getAttribute(`#bill-steps tr.fund${type} .fund-payamt`, 'data-amount'),
      ).toBe(d.fund_payamt);
      expect(await page.locator(`#bill-steps tr.step${type} td.article`).allTextContents()).toEqual(
        d.setl_proc_info.map((p) => p.article),
      );
      expect(
        (await page.locator(`#bill-steps tr.step${type} td.step-amount`).allTextContents()).map(
          (t) => t.replace(/,/g, ''),
        ),
      ).toEqual(d.setl_proc_info.map((p) => p.amount));
      steps += d.setl_proc_info.length;
    }
    expect(steps).toBeGreaterThan(0);
    expect(
      (await page.locator('#bill-steps td.article').first().textContent())?.length,
    ).toBeGreaterThan(0);

    // the person is shown masked, never whole: not the number, the name or the ID number
    const text = (await page.textContent('#bill-view')) ?? '';
    expect(text).not.toContain(`${RUN}PL1`);
    expect(text).not.toContain('患者3');
    expect(text).not.toContain('51040219800101003X');
    expect(await page.textContent('#bill-person dd[data-field="psn_no"]')).toMatch(/\*{2,}/);
    expect(await page.textContent('#bill-person dd[data-field="certno"]')).toMatch(/\*{4,}/);

    // search by hospital and visit finds the same bill; by person lists it, the number masked
    await page.fill('#search-hospital', hospitalOf(xml));
    await page.fill('#search-mdtrt-id', `${RUN}-L1`);
    await page.evaluate("document.getElementById('bill-view').removeAttribute('data-setl-id')");
    await page.click('#search-by-visit button');
    await page.waitForSelector(`#bill-view[data-setl-id="${setlId}"]`);
    await page.fill('#search-psn-no', `${RUN}PL1`);
    await page.click('#search-by-person button');
    const found = await page.waitForSelector(`#person-results tbody tr[data-setl-id="${setlId}"]`);
    const shown = (await found.textContent()) ?? '';
    expect(shown).not.toContain(`${RUN}PL1`);
    expect(await page.textContent(`#person-results tr[data-setl-id="${setlId}"] td.psn`)).toMatch(
      /^.{4}\*+.{4}$/,
    );
  });

  /** Screenshots for people (CI keeps artifacts/console/); the assertions read the DOM. */
  async function keepScreenshot(p: Page, name: string): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true });
    await p.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  }

  it.each([
    [1366, 768],
    [1920, 1080],
  ])(
    'the flow view fits one %ix%i screen, with names beside codes, separators and one time zone',
    async (width, height) => {
      const p = await signedIn(CRED.operator, 'operator');
      await p.setViewportSize({ width, height });
      // the tables sit in closed <details>: attached, not visible
      const attached = { ...LIVE, state: 'attached' as const };
      await p.waitForSelector('#by-hospital tr[data-hospital] td', attached);
      await p.waitForSelector('#by-county tr[data-county] td[data-field="fund_pay_sum"]', attached);
      // every key figure and chart of the flow view is on the first screen
      expect(await p.evaluate('document.documentElement.scrollHeight')).toBeLessThanOrEqual(height);
      for (const id of ['#outbox', '#counters', '#flow-in', '#flow-out', '#lag', '#by-county']) {
        const box = await p.locator(id).boundingBox();
        expect(box).not.toBeNull();
        expect((box?.y ?? 0) + (box?.height ?? 0)).toBeLessThanOrEqual(height);
      }
      // a hospital and a county by name, the code beside it (config/hospitals.json)
      const hospital = await p.textContent('#by-hospital tr[data-hospital] td');
      expect(hospital).toMatch(/[\u4e00-\u9fff].* H\d{11}$/);
      const county = await p.textContent('#by-county tr[data-county] td');
      expect(county).toMatch(/^[\u4e00-\u9fff]+ \d{6}$/);
      // money with thousands separators, the exact amount kept in data-amount
      const cell = p.locator('#by-county tr[data-county] td[data-field="fund_pay_sum"]').first();
      const amount = (await cell.getAttribute('data-amount')) ?? '';
      const shown = (await cell.textContent()) ?? '';
      expect(shown.replace(/,/g, '')).toBe(amount);
      if (/^\d{4,}/.test(amount)) expect(shown).toContain(',');
      // one time zone, said on the page
      expect(await p.textContent('#time-zone')).toContain('UTC+8');
      await keepScreenshot(p, `flow-${width}x${height}`);
      await p.close();
    },
  );

  it('queues a malformed message with its reason; fixed in the console and resubmitted, it settles', async () => {
    const good = billXml(RUN, TEMPLATE, 'R1');
    const broken = good.replace(/<psn_no>[^<]*<\/psn_no>/, '');
    await page.click('nav button[data-tab="rejects"]');
    await publish(broken);
    const { reject_id: rejectId } = await rejectOfVisit(`${RUN}-R1`, 'psn_no');
    // it is in the console's queue (polled), with its reason and field
    const row = await page.waitForSelector(`#rejects tbody tr[data-reject-id="${rejectId}"]`, LIVE);
    expect(await row.getAttribute('data-reason')).toBe('MISSING_FIELD');
    expect(await row.getAttribute('data-field')).toBe('psn_no');
    const cells = `#rejects tbody tr[data-reject-id="${rejectId}"]`;
    expect(await page.textContent(`${cells} td.reason`)).toBe('MISSING_FIELD');
    expect(await page.textContent(`${cells} td.field`)).toBe('psn_no');
    expect(await page.textContent(`${cells} td.message`)).toContain('psn_no');
    await row.click();
    await page.waitForSelector(`#reject-view[data-reject-id="${rejectId}"]`);
    expect(await page.inputValue('#reject-xml')).toBe(broken);
    // the opened reject is beside the list, on the same screen, not a page further down
    const list = await page.locator('#rejects').boundingBox();
    const detail = await page.locator('#reject-view').boundingBox();
    expect(detail?.x ?? 0).toBeGreaterThan((list?.x ?? 0) + 100);
    expect(detail?.y ?? Infinity).toBeLessThan(page.viewportSize()?.height ?? 720);
    await keepScreenshot(page, 'reject-open');
    expect(await page.isVisible('#resubmit')).toBe(true);

    // the operator puts the person number back into the message, in the textarea, and resubmits
    const fixed = (await page.inputValue('#reject-xml')).replace(
      '</mdtrt_id>',
      `</mdtrt_id>\n  <psn_no>${RUN}PR1</psn_no>`,
    );
    await page.fill('#reject-xml', fixed);
    await page.click('#resubmit');
    await page.waitForSelector('#resubmit-result[data-http-status]');
    expect(await page.getAttribute('#resubmit-result', 'data-http-status')).toBe('201');
    expect(await page.getAttribute('#resubmit-result', 'data-outcome')).toBe('settled');
    expect(await page.textContent('#resubmit-result')).toContain('settled');
    await page.waitForSelector('#reject-resubmitted[data-resubmitted-by="test-operator"]');
    expect(await page.isDisabled('#resubmit')).toBe(true);

    const found = await api<ApiBill>(
      `/api/v1/settlements?fixmedins_code=${hospitalOf(good)}&mdtrt_id=${RUN}-R1`,
    );
    expect(found.status).toBe(200);
    expect(found.body.setlinfo.setl_id).toBe(
      await page.getAttribute('#resubmit-result', 'data-setl-id'),
    );
    expect(found.body.setlinfo.psn_no).toBe(`${RUN}PR1`);
    const reject = await api<ApiReject>(`/api/v1/rejects/${rejectId}`);
    expect(reject.body.resubmitted_by).toBe('test-operator');
    expect(reject.body.resubmitted_as).toMatch(/^\d+$/);
    expect(await page.getAttribute('#reject-resubmitted', 'data-resubmitted-as')).toBe(
      reject.body.resubmitted_as,
    );
    // resubmitted, it leaves the open queue
    await eventually(async () => {
      expect(await page.$(`#rejects tbody tr[data-reject-id="${rejectId}"]`)).toBeNull();
    });
  });

  it('a fix that is still wrong is rejected again (422) and the next fix starts from the new reject', async () => {
    const good = billXml(RUN, TEMPLATE, 'R2');
    const bad = (total: string): string =>
      good.replace(
        /<medfee_sumamt>[^<]*<\/medfee_sumamt>/,
        `<medfee_sumamt>${total}</medfee_sumamt>`,
      );
    await page.click('nav button[data-tab="rejects"]');
    await publish(bad('9999.99'));
    const first = (await rejectOfVisit(`${RUN}-R2`, 'medfee_sumamt')).reject_id;
    const row = await page.waitForSelector(`#rejects tbody tr[data-reject-id="${first}"]`, LIVE);
    expect(await row.getAttribute('data-reason')).toBe('AMOUNTS_DO_NOT_ADD_UP');
    await row.click();
    await page.waitForSelector(`#reject-view[data-reject-id="${first}"]`);

    await page.fill('#reject-xml', bad('2345.61'));
    await page.click('#resubmit');
    await page.waitForSelector('#resubmit-result[data-http-status]');
    expect(await page.getAttribute('#resubmit-result', 'data-http-status')).toBe('422');
    expect(await page.getAttribute('#resubmit-result', 'data-outcome')).toBe('rejected');
    expect(await page.textContent('#resubmit-result')).toContain('AMOUNTS_DO_NOT_ADD_UP');
    const second = (await page.getAttribute('#resubmit-result', 'data-reject-id')) ?? '';
    expect(second).toMatch(/^\d+$/);
    expect(second).not.toBe(first);
    expect(await page.isDisabled('#resubmit')).toBe(true); // a reject is resubmitted once

    await page.click('#resubmit-next');
    await page.waitForSelector(`#reject-view[data-reject-id="${second}"]`);
    expect(await page.isDisabled('#resubmit')).toBe(false);
    await page.fill('#reject-xml', good);
    await page.click('#resubmit');
    await page.waitForSelector('#resubmit-result[data-http-status="201"]');
    expect(
      (
        await api<ApiBill>(
          `/api/v1/settlements?fixmedins_code=${hospitalOf(good)}&mdtrt_id=${RUN}-R2`,
        )
      ).status,
    ).toBe(200);
  });

  it('replays a bill from the archive and reconciles a declaration missing it, from the console', async () => {
    const xml = billXml(RUN, TEMPLATE, 'A1');
    await publish(xml);
    const {
      setl_id: settled,
      setl_time,
      clr_optins: county,
    } = await eventually(async () => {
      const r = await api<{ setlinfo: { setl_id: string; setl_time: string; clr_optins: string } }>(
        `/api/v1/settlements?fixmedins_code=${hospitalOf(xml)}&mdtrt_id=${RUN}-A1`,
      );
      if (r.status !== 200) throw new Error(`not settled yet: ${r.status}`);
      return r.body.setlinfo;
    }, LIVE_MS);
    const month = setl_time.slice(0, 7);

    await page.click('#nav-replay');
    await page.fill('#replay-bill', `${RUN}-A1`);
    await page.click('#replay-form button[type=submit]');
    await page.waitForSelector('#audit-job[data-kind="replay"][data-status="done"]', LIVE);
    expect(await page.getAttribute('#audit-summary', 'data-matched')).toBe('1');
    expect(await page.getAttribute('#audit-summary', 'data-differing')).toBe('0');
    expect(await page.getAttribute('#audit-diffs', 'data-count')).toBe('0');

    await page.click('#verify-archive');
    await page.waitForSelector('#audit-job[data-kind="verify"][data-status="done"]', LIVE);
    expect(await page.textContent('#audit-summary')).toContain('archive intact');

    // a declaration of the bill's month that leaves it out names it
    await page.click('#nav-reconciliation');
    await page.fill(
      '#declaration',
      `fixmedins_code,clr_optins,month,setl_id,mdtrt_id,basic\n${hospitalOf(xml)},${county},${month},S-NOT-OURS,V0,0.00\n`,
    );
    await page.click('#reconcile');
    await page.waitForSelector('#reconcile-summary[data-matched="false"]', LIVE);
    const bills = await page.evaluate<string[][]>(
      `Array.from(document.querySelectorAll('#reconcile-bills tbody tr'))
         .map((tr) => Array.from(tr.children).map((td) => td.textContent))`,
    );
    expect(bills.some((b) => b[0] === settled && b[2] === 'missing-declared')).toBe(true);
  });

  it('an auditor reads a reject with the person masked and cannot resubmit it', async () => {
    const xml = billXml(RUN, TEMPLATE, 'A1').replace(/<insutype>[^<]*<\/insutype>/, '');
    await publish(xml);
    const reject = await rejectOfVisit(`${RUN}-A1`, 'insutype');
    const auditor = await signedIn(CRED.auditor, 'auditor');
    await auditor.click('nav button[data-tab="rejects"]');
    await auditor.click(`#rejects tbody tr[data-reject-id="${reject.reject_id}"]`);
    await auditor.waitForSelector(`#reject-view[data-reject-id="${reject.reject_id}"]`);
    expect(await auditor.isHidden('#resubmit')).toBe(true);
    expect(await auditor.getAttribute('#reject-xml', 'readonly')).not.toBeNull();
    const shown = await auditor.inputValue('#reject-xml');
    expect(shown).toContain(`<mdtrt_id>${RUN}-A1</mdtrt_id>`);
    expect(shown).not.toContain(`${RUN}PA1`);
    expect(shown).not.toContain('患者3');
    expect(shown).not.toContain('51040219800101003X');
    expect(shown).toContain('<certno>510402********003X</certno>');
    await auditor.close();
  });
  it('the alerts panel at 1366×768 lists an alert with the person masked and the county named; an operator acknowledges it, an auditor cannot', async () => {
    // panzhihua 2024 pcdi 43,567.00 (EXAMPLE figure) × 0.50 = 21,783.50 (004 第十八条): 25,000.00
    // out of scope is all the patient's, above the line
    const psn = `${RUN}PH1`;
    const xml = billXml(RUN, 'discharge-panzhihua-11-none.xml', 'H1', {
      psn,
      extra: { yuan: 25000, tag: 'fulamt_ownpay_amt' },
    });
    await publish(xml);
    const alert = await eventually(async () => {
      const r = await api<{ alerts: { psn_no: string; year: number; admdvs: string }[] }>(
        '/api/v1/alerts?status=open',
      );
      const a = r.body.alerts.find((x) => x.psn_no === psn);
      if (a === undefined) throw new Error('no alert yet');
      return a;
    }, LIVE_MS);
    const names = await api<{ counties: Record<string, string> }>('/api/v1/console/names');
    const countyName = names.body.counties[alert.admdvs] ?? '';
    expect(countyName).not.toBe('');

    const p = await signedIn(CRED.operator, 'operator');
    await p.setViewportSize({ width: 1366, height: 768 });
    await p.click('#nav-alerts');
    const masked = `${psn.slice(0, 4)}${'*'.repeat(psn.length - 8)}${psn.slice(-4)}`;
    const rowSel = `#alerts tbody tr[data-psn-masked="${masked}"][data-year="${alert.year}"]`;
    const row = await p.waitForSelector(`${rowSel}[data-status="open"]`, LIVE);
    expect(await row.textContent()).not.toContain(psn);
    expect(await p.textContent(`${rowSel} td.psn`)).toBe(masked);
    expect(await p.textContent(`${rowSel} td.county`)).toBe(`${countyName} ${alert.admdvs}`);
    // the whole row, its button included, is on the 1366-wide screen
    const box = await p.locator(`${rowSel} button.alert-ack`).boundingBox();
    expect((box?.x ?? Infinity) + (box?.width ?? 0)).toBeLessThanOrEqual(1366);
    await keepScreenshot(p, 'alerts-1366x768');

    // an auditor reads the same alert without the button
    const auditor = await signedIn(CRED.auditor, 'auditor');
    await auditor.click('#nav-alerts');
    await auditor.waitForSelector(`${rowSel}[data-status="open"]`, LIVE);
    expect(await auditor.$(`${rowSel} button.alert-ack`)).toBeNull();
    await auditor.close();

    await p.click(`${rowSel} button.alert-ack`);
    await p.waitForSelector('#alerts-result[data-http-status]', LIVE);
    // the contract's 200 (contracts/openapi/gateway.v1.yaml)
    expect(await p.getAttribute('#alerts-result', 'data-http-status')).toBe('200');
    expect(await p.textContent('#alerts-result')).toBe(`acknowledged: ${masked} ${alert.year}`);
    // acknowledged, it leaves the open list; filtered on acknowledged, it is there with who did it
    await p.waitForSelector(rowSel, { ...LIVE, state: 'detached' });
    await p.selectOption('#alerts-status', 'acknowledged');
    const done = await p.waitForSelector(`${rowSel}[data-status="acknowledged"]`, LIVE);
    expect(await done.textContent()).toContain('test-operator');
    const after = await api<{ alerts: { psn_no: string; acknowledged_by: string | null }[] }>(
      '/api/v1/alerts?status=acknowledged',
    );
    expect(after.body.alerts.find((x) => x.psn_no === psn)?.acknowledged_by).toBe('test-operator');
    await keepScreenshot(p, 'alerts-acknowledged-1366x768');
    await p.close();
  });
});

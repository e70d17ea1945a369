import { maskMessage, type Maskers } from './mask';

// the gateway's maskers (apps/gateway/src/log.ts), restated so that this library stays alone
const M: Maskers = {
  name: (n) => `${[...n][0] ?? ''}${'*'.repeat(Math.max(1, [...n].length - 1))}`,
  id: (c) => `${c.slice(0, 6)}${'*'.repeat(c.length - 10)}${c.slice(-4)}`,
  psnNo: (p) => `${p.slice(0, 4)}****`,
};
const ID = '510402198001010045';
const msg = (inner: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<discharge version="1"><mdtrt_id>M1</mdtrt_id>${inner}</discharge>`;

function expectNoPerson(out: string | null): void {
  expect(out).not.toBeNull();
  expect(out).not.toContain('张三丰');
  expect(out).not.toContain('三丰');
  expect(out).not.toContain('198001010045');
}

describe('maskMessage (masking after parsing)', () => {
  it('masks the name and the ID number and keeps everything else', () => {
    const out = maskMessage(msg(`<psn_name>张三丰</psn_name><certno>${ID}</certno>`), M);
    expect(out).toBe(
      '<discharge version="1"><mdtrt_id>M1</mdtrt_id><psn_name>张**</psn_name>' +
        '<certno>510402********0045</certno></discharge>',
    );
  });

  it('masks a name written in CDATA', () => {
    const out = maskMessage(msg('<psn_name><![CDATA[张三丰]]></psn_name>'), M);
    expectNoPerson(out);
    expect(out).toContain('<psn_name>张**</psn_name>');
  });

  it('masks an ID number with a comment inside it, as one value', () => {
    const out = maskMessage(msg('<certno>510402<!-- x -->198001010045</certno>'), M);
    expectNoPerson(out);
    expect(out).toContain('<certno>510402********0045</certno>');
  });

  it('masks a name split over text, CDATA and a comment', () => {
    expectNoPerson(maskMessage(msg('<psn_name>张<![CDATA[三]]><!--x-->丰</psn_name>'), M));
  });

  it('shows a truncated message not at all', () => {
    expect(
      maskMessage(msg('<psn_name>张三丰</psn_name><certno>5104021980').slice(0, -12), M),
    ).toBeNull();
    expect(maskMessage('<discharge version="1"><psn_name>张三丰</psn_name>', M)).toBeNull();
  });

  it('drops comments and masks ID-shaped text and attributes anywhere', () => {
    const out = maskMessage(
      msg(`<!-- ${ID} 张三丰 --><note>${ID}</note><x certno="${ID}" psn_name="张三丰"/>`),
      M,
    );
    expectNoPerson(out);
    expect(out).not.toContain('<!--');
  });

  it('masks the person number when asked, and keeps escaped text escaped', () => {
    const out = maskMessage(
      msg('<psn_no>510400100148</psn_no><psn_name>&lt;b&gt;张三丰</psn_name>'),
      M,
    );
    expect(out).toContain('<psn_no>5104****</psn_no>');
    expect(out).toContain('<psn_name>&lt;*****</psn_name>');
  });

  it('shows nothing of text holding control characters, entity declarations or none', () => {
    expect(maskMessage(msg('<psn_name>张\u0000三丰</psn_name>'), M)).toBeNull();
    expect(
      maskMessage(
        '<!DOCTYPE d [<!ENTITY n "张三丰">]><discharge><psn_name>&n;</psn_name></discharge>',
        M,
      ),
    ).toBeNull();
    expect(maskMessage(null, M)).toBeNull();
    expect(maskMessage('  ', M)).toBeNull();
  });
});

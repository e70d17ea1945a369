/**
 * Every fenced bash example of README.md and of the apps' and libs' READMEs is run, so that none
 * can rot (issue 13) — or it is marked, just above its fence, with why it is not:
 *
 *   <!-- example: not-run (starts a server) -->          not run; the reason is required
 *   <!-- example: exits 0|1 (1: the ledger differs) -->  run; each command may end with these codes
 *   (no marker)                                           run; each command must end with 0
 *
 * Each command (a line, with its backslash continuations) runs in bash from the repository root
 * against what the test provides: the integration PostgreSQL as DATABASE_URL (the audit CLI reads
 * it) and a gateway of its own on that database, HTTP only, whose address replaces
 * http://127.0.0.1:3000 and whose operator token is $TOKEN (a `TOKEN=…` line is the reader's
 * placeholder and is skipped). A command must also print something, and an HTTP answer must not
 * be an error body.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeCredentials } from './support/credentials';
import { GatewayProcess, ROOT } from './support/gateway-process';

interface Example {
  file: string;
  line: number;
  commands: string[];
  /** null: not run (with the reason); else the exit codes allowed */
  exits: number[] | null;
  reason: string;
}

const READMES = [
  'README.md',
  ...['apps', 'libs'].flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .map((name) => `${dir}/${name}/README.md`)
      .filter((file) => {
        try {
          readFileSync(join(ROOT, file));
          return true;
        } catch {
          return false;
        }
      }),
  ),
];

const MARKER = /^<!-- example: (not-run|exits ([0-9|]+)) \(([^)]+)\) -->$/;

/** The bash blocks of a README with the marker above each (blank lines between allowed). */
function examplesOf(file: string, text: string): Example[] {
  const lines = text.split('\n');
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i]?.trim() !== '```bash') continue;
    let above = i - 1;
    while (above >= 0 && lines[above]?.trim() === '') above -= 1;
    const marker = MARKER.exec(lines[above]?.trim() ?? '');
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j]?.trim() !== '```'; j += 1) body.push(lines[j] ?? '');
    const commands: string[] = [];
    let current = '';
    for (const l of body) {
      current += l.endsWith('\\') ? `${l.slice(0, -1)} ` : l;
      if (!l.endsWith('\\')) {
        if (current.trim() !== '') commands.push(current.trim());
        current = '';
      }
    }
    found.push({
      file,
      line: i + 1,
      commands,
      exits:
        marker === null
          ? [0]
          : marker[1] === 'not-run'
            ? null
            : (marker[2] ?? '0').split('|').map(Number),
      reason: marker?.[3] ?? '',
    });
    i = j;
  }
  return found;
}

const EXAMPLES = READMES.flatMap((f) => examplesOf(f, readFileSync(join(ROOT, f), 'utf8')));
const RUN = EXAMPLES.filter((e) => e.exits !== null).flatMap((e) =>
  e.commands
    .filter((c) => !/^TOKEN=/.test(c))
    .map((command) => ({ where: `${e.file}:${e.line}`, command, exits: e.exits ?? [0] })),
);

function bash(
  command: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'bash',
      ['-c', command],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 90_000, maxBuffer: 32 << 20 },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

describe('README examples', () => {
  it('finds the examples, and every block not run says why', () => {
    expect(RUN.length).toBeGreaterThanOrEqual(8);
    for (const e of EXAMPLES) {
      if (e.exits === null)
        expect([`${e.file}:${e.line}`, e.reason.length > 3]).toEqual([`${e.file}:${e.line}`, true]);
      // a block that is run names no placeholder the reader must fill in
      if (e.exits !== null)
        for (const c of e.commands.filter((x) => !/^TOKEN=/.test(x)))
          expect([`${e.file}:${e.line}`, c]).not.toEqual([
            `${e.file}:${e.line}`,
            expect.stringMatching(/<[a-z.-]+>|\[--|…/),
          ]);
    }
  });

  describe('each example that is run', () => {
    const cred = writeCredentials();
    let gateway: GatewayProcess;

    beforeAll(async () => {
      // HTTP only, on the integration database (the audit CLI reads the same store)
      gateway = await GatewayProcess.start({
        KAFKA_BROKERS: '',
        SIMULATOR_RATE: '0',
        GATEWAY_CREDENTIALS_FILE: cred.file,
      });
    });
    afterAll(async () => {
      await gateway?.stop();
    });

    it.each(RUN)('$where: $command', async ({ command, exits }) => {
      const r = await bash(command.replaceAll('http://127.0.0.1:3000', gateway.base), {
        TOKEN: cred.operator,
        DATABASE_URL: process.env.DATABASE_URL ?? '',
        KAFKA_BROKERS: '',
      });
      const said = `${command}\nexit ${r.code}\n${r.stderr.slice(-2000)}`;
      expect([said, exits.includes(r.code ?? -1)]).toEqual([said, true]);
      expect(r.stdout.trim().length).toBeGreaterThan(0);
      expect(r.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m); // no stack trace
      // an HTTP answer in JSON is not an error body (401, 400, …)
      if (/^curl /.test(command) && r.stdout.trimStart().startsWith('{'))
        expect(JSON.parse(r.stdout)).not.toHaveProperty('errors');
    });
  });
});

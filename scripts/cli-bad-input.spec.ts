/**
 * Every CLI of package.json that takes arguments turns bad input into one line on stderr naming
 * the option or the file, and exit status 2 — never a stack trace (issue 13). Each is spawned as
 * npm runs it (tsx on the script), with input that is wrong in one way.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

interface Run {
  code: number | null;
  stderr: string;
}

function run(script: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      TSX,
      [script, ...args],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ONEBILL_TOKEN: '',
          PGLITE_DIR: join(ROOT, '.data/cli-spec-never-opened'),
          ...env,
        },
        timeout: 60_000,
      },
      (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
}

const CASES: Array<[string, string, string[], RegExp]> = [
  ['audit:cli', 'scripts/audit.ts', ['what-if'], /^error: --rules is required/],
  [
    'audit:cli',
    'scripts/audit.ts',
    ['what-if', '--rules', '/nonexistent-rules'],
    /^error: --rules \/nonexistent-rules: no such folder/,
  ],
  [
    'audit:cli',
    'scripts/audit.ts',
    ['reconcile', '--file', '/nonexistent.xml'],
    /^error: --file: \/nonexistent\.xml: no such file or folder$/,
  ],
  ['audit:cli', 'scripts/audit.ts', ['replay', '--status', 'maybe'], /^error: --status is/],
  ['audit:cli', 'scripts/audit.ts', [], /^error: a command is required/],
  ['settle', 'scripts/settle.ts', [], /^error: the discharge XML file is missing/],
  [
    'settle',
    'scripts/settle.ts',
    ['/nonexistent.xml'],
    /^error CANNOT_READ: discharge: \/nonexistent\.xml/,
  ],
  [
    'settle',
    'scripts/settle.ts',
    ['--batch', '/nonexistent'],
    /^error CANNOT_READ: batch: \/nonexistent/,
  ],
  ['settle', 'scripts/settle.ts', ['x.xml', '--colour'], /^error: unknown option --colour/],
  ['credential', 'scripts/credential.ts', [], /^error: --name is required/],
  [
    'credential',
    'scripts/credential.ts',
    ['--name', 'a', '--role', 'hospital'],
    /^error: --role hospital needs --hospital/,
  ],
  [
    'credential',
    'scripts/credential.ts',
    ['--name', '--role', 'operator'],
    /^error: --name needs a value/,
  ],
  ['simulate', 'apps/his-simulator/src/main.ts', ['--rate', 'fast'], /^--rate must be a number/],
  [
    'simulate',
    'apps/his-simulator/src/main.ts',
    ['--target', 'http', '--count', '1'],
    /^--target http needs a credential: --token/,
  ],
];

describe('every CLI: bad input is one line naming the option or file, exit 2', () => {
  it.each(CASES)('npm run %s -- … (%s %j)', async (_name, script, args, line) => {
    const r = await run(script, args);
    const lines = r.stderr.trimEnd().split('\n');
    expect({ code: r.code, lines }).toEqual({ code: 2, lines: [expect.stringMatching(line)] });
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

/**
 * npm run credential -- --name <name> --role operator|auditor|hospital [--hospital <fixmedins_code>]
 *
 * Makes a new random bearer token for the gateway's HTTP API and console. Prints the token (give it
 * to its holder once; it is not stored anywhere) and the entry to add to the gateway's
 * GATEWAY_CREDENTIALS_FILE, which holds only the token's SHA-256. A missing or wrong option: one
 * line naming it, exit 2.
 */
import {
  hashToken,
  newToken,
  parseCredentials,
  ROLES,
  type Role,
} from '../apps/gateway/src/credentials';
import { BAD_INPUT } from './cli-input';

const USAGE = `npm run credential -- --name <name> --role ${ROLES.join('|')} [--hospital <fixmedins_code>]`;

/** Bad input: one line naming the option, with the usage, exit 2 (scripts/cli-input.ts). */
function fail(message: string): never {
  process.stderr.write(`error: ${message} (usage: ${USAGE})\n`);
  process.exit(BAD_INPUT);
}

const KNOWN = ['--name', '--role', '--hospital'];
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`usage: ${USAGE}\n`);
  process.exit(0);
}
for (let i = 2; i < process.argv.length; i += 2) {
  const a = process.argv[i] as string;
  const v = process.argv[i + 1];
  if (!KNOWN.includes(a))
    fail(a.startsWith('--') ? `unknown option ${a}` : `unexpected argument ${a}`);
  if (v === undefined || v.startsWith('--')) fail(`${a} needs a value`);
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  return process.argv[i + 1];
}

const name = option('name') ?? fail('--name is required');
const role = (option('role') ?? fail('--role is required')) as Role;
const hospital = option('hospital');
// the options first, by their own names (the file's validation below speaks of JSON paths)
if (!ROLES.includes(role)) fail(`--role must be one of ${ROLES.join(', ')}, got "${role}"`);
if (role === 'hospital' && hospital === undefined)
  fail('--role hospital needs --hospital <fixmedins_code>: the institution it may send and read');
if (role !== 'hospital' && hospital !== undefined)
  fail(`--hospital is only for --role hospital (an ${role} sees every institution)`);
const token = newToken(role);
const entry = {
  name,
  role,
  ...(hospital === undefined ? {} : { fixmedins_code: hospital }),
  token_sha256: hashToken(token),
};
try {
  parseCredentials(JSON.stringify({ credentials: [entry] }), 'the new credential');
} catch (e) {
  // what the file's rules say of it, in the options' words
  fail((e as Error).message.replace(/credentials\[0\]\.fixmedins_code/g, '--hospital'));
}
process.stdout.write(
  `token (give it to ${name} once; send as "Authorization: Bearer <token>"):\n  ${token}\n\n` +
    `add to the "credentials" array of GATEWAY_CREDENTIALS_FILE:\n  ${JSON.stringify(entry)}\n`,
);

/**
 * Credentials for a gateway under test: one per role (a hospital credential per hospital asked
 * for), written as the gateway's GATEWAY_CREDENTIALS_FILE (token hashes only); the tokens stay
 * with the test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCredentials {
  file: string;
  operator: string;
  auditor: string;
  /** hospital code → token */
  hospital: Record<string, string>;
  /** `{ authorization: 'Bearer …' }` for a token */
  header(token: string): { authorization: string };
}

export function writeCredentials(hospitals: string[] = []): TestCredentials {
  const token = (role: string): string => `ob_${role}_${randomBytes(24).toString('base64url')}`;
  const sha = (t: string): string => createHash('sha256').update(t).digest('hex');
  const operator = token('operator');
  const auditor = token('auditor');
  const hospital: Record<string, string> = {};
  const credentials: Array<Record<string, string>> = [
    { name: 'test-operator', role: 'operator', token_sha256: sha(operator) },
    { name: 'test-auditor', role: 'auditor', token_sha256: sha(auditor) },
  ];
  for (const code of hospitals) {
    hospital[code] = token('hospital');
    credentials.push({
      name: `test-${code}`,
      role: 'hospital',
      fixmedins_code: code,
      token_sha256: sha(hospital[code]),
    });
  }
  const file = join(mkdtempSync(join(tmpdir(), 'onebill-cred-')), 'credentials.json');
  writeFileSync(file, JSON.stringify({ credentials }, null, 2));
  return {
    file,
    operator,
    auditor,
    hospital,
    header: (t) => ({ authorization: `Bearer ${t}` }),
  };
}

/**
 * Credentials of the HTTP API and the console: parsing the configured file, tokens, and
 * authentication of a bearer token. Pure (no framework), so it is unit-tested directly; the Nest
 * guard is in auth.ts.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type Role = 'operator' | 'auditor' | 'hospital';
export const ROLES: readonly Role[] = ['operator', 'auditor', 'hospital'];

export interface Principal {
  name: string;
  role: Role;
  /** a hospital credential's institution; null for operator and auditor */
  fixmedinsCode: string | null;
}

export interface Credential extends Principal {
  tokenSha256: string;
}

export class CredentialsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid credentials file:\n  - ${problems.join('\n  - ')}`);
    this.name = 'CredentialsError';
  }
}

export const hashToken = (token: string): string =>
  createHash('sha256').update(token, 'utf8').digest('hex');

/** A new random token: `ob_<role>_<43 characters of base64url>` (256 bits). */
export function newToken(role: Role): string {
  return `ob_${role}_${randomBytes(32).toString('base64url')}`;
}

/** Parses and validates a credentials document; every problem is reported at once. */
export function parseCredentials(text: string, source = 'credentials'): Credential[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CredentialsError([`${source}: not JSON (${(e as Error).message})`]);
  }
  const list = (doc as { credentials?: unknown } | null)?.credentials;
  if (!Array.isArray(list)) throw new CredentialsError([`${source}: needs a "credentials" array`]);
  const problems: string[] = [];
  const out: Credential[] = [];
  const names = new Set<string>();
  const hashes = new Set<string>();
  list.forEach((raw: unknown, i) => {
    const at = `${source}: credentials[${i}]`;
    const c = (raw ?? {}) as Record<string, unknown>;
    const name = c.name;
    const role = c.role;
    const hash = c.token_sha256;
    const code = c.fixmedins_code;
    if (typeof name !== 'string' || !/^[\w.@-]{1,64}$/.test(name))
      problems.push(`${at}.name must be 1-64 letters, digits, . _ @ -`);
    else if (names.has(name)) problems.push(`${at}.name "${name}" is used twice`);
    if (typeof role !== 'string' || !ROLES.includes(role as Role))
      problems.push(`${at}.role must be one of ${ROLES.join(', ')}`);
    if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash))
      problems.push(
        `${at}.token_sha256 must be 64 lowercase hex digits (the SHA-256 of the token)`,
      );
    else if (hashes.has(hash)) problems.push(`${at}.token_sha256 is used twice`);
    if (role === 'hospital') {
      if (code === undefined)
        problems.push(`${at}.fixmedins_code is required for a hospital credential`);
      else if (typeof code !== 'string' || !/^[A-Za-z0-9]{1,40}$/.test(code))
        problems.push(
          `${at}.fixmedins_code must be 1-40 letters and digits, got ${JSON.stringify(code)}`,
        );
    } else if (code !== undefined) {
      problems.push(`${at}.fixmedins_code is only for role hospital`);
    }
    if (typeof name === 'string') names.add(name);
    if (typeof hash === 'string') hashes.add(hash);
    out.push({
      name: String(name),
      role: role as Role,
      fixmedinsCode: role === 'hospital' ? String(code) : null,
      tokenSha256: String(hash),
    });
  });
  if (problems.length > 0) throw new CredentialsError(problems);
  return out;
}

export class Authenticator {
  private readonly byHash: Map<string, Credential>;

  constructor(readonly credentials: readonly Credential[]) {
    this.byHash = new Map(credentials.map((c) => [c.tokenSha256, c]));
  }

  static fromFile(path: string): Authenticator {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new CredentialsError([`GATEWAY_CREDENTIALS_FILE ${path}: ${(e as Error).message}`]);
    }
    return new Authenticator(parseCredentials(text, path));
  }

  /** The principal of an `Authorization: Bearer <token>` header, or null. */
  authenticate(header: string | undefined): Principal | null {
    if (header === undefined) return null;
    const m = /^Bearer\s+(\S{16,512})\s*$/i.exec(header);
    if (m === null) return null;
    const digest = hashToken(m[1] as string);
    const found = this.byHash.get(digest);
    // the map lookup found it by hash; compare again in constant time before trusting it
    if (
      found === undefined ||
      !timingSafeEqual(Buffer.from(found.tokenSha256, 'hex'), Buffer.from(digest, 'hex'))
    )
      return null;
    return { name: found.name, role: found.role, fixmedinsCode: found.fixmedinsCode };
  }
}

import {
  Authenticator,
  CredentialsError,
  hashToken,
  newToken,
  parseCredentials,
} from './credentials';

const op = newToken('operator');
const hosp = newToken('hospital');
const file = (credentials: unknown[]): string => JSON.stringify({ credentials });
const good = file([
  { name: 'ops', role: 'operator', token_sha256: hashToken(op) },
  {
    name: 'his-a',
    role: 'hospital',
    fixmedins_code: 'H51040000001',
    token_sha256: hashToken(hosp),
  },
]);

describe('credentials file', () => {
  it('parses operators and hospitals; a hospital keeps its institution', () => {
    expect(parseCredentials(good)).toEqual([
      { name: 'ops', role: 'operator', fixmedinsCode: null, tokenSha256: hashToken(op) },
      {
        name: 'his-a',
        role: 'hospital',
        fixmedinsCode: 'H51040000001',
        tokenSha256: hashToken(hosp),
      },
    ]);
  });

  it('reports every problem at once, naming the entry and the field', () => {
    const bad = file([
      { name: 'x y', role: 'operator', token_sha256: hashToken(op) },
      { name: 'a', role: 'root', token_sha256: 'abc' },
      { name: 'b', role: 'hospital', token_sha256: hashToken(hosp) },
      { name: 'c', role: 'auditor', fixmedins_code: 'H1', token_sha256: hashToken(op) },
    ]);
    let error: unknown;
    try {
      parseCredentials(bad, 'creds.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as CredentialsError).problems).toEqual([
      'creds.json: credentials[0].name must be 1-64 letters, digits, . _ @ -',
      'creds.json: credentials[1].role must be one of operator, auditor, hospital',
      'creds.json: credentials[1].token_sha256 must be 64 lowercase hex digits (the SHA-256 of the token)',
      'creds.json: credentials[2].fixmedins_code is required for a hospital credential',
      'creds.json: credentials[3].token_sha256 is used twice',
      'creds.json: credentials[3].fixmedins_code is only for role hospital',
    ]);
  });

  it('refuses a document that is not JSON or has no credentials array', () => {
    expect(() => parseCredentials('{', 'f')).toThrow(/f: not JSON/);
    expect(() => parseCredentials('{}', 'f')).toThrow(/needs a "credentials" array/);
  });

  it('refuses a missing file with its path', () => {
    expect(() => Authenticator.fromFile('/nonexistent/creds.json')).toThrow(
      /\/nonexistent\/creds.json/,
    );
  });
});

describe('Authenticator', () => {
  const auth = new Authenticator(parseCredentials(good));

  it('finds the principal of a configured bearer token', () => {
    expect(auth.authenticate(`Bearer ${op}`)).toEqual({
      name: 'ops',
      role: 'operator',
      fixmedinsCode: null,
    });
    expect(auth.authenticate(`bearer ${hosp}`)).toEqual({
      name: 'his-a',
      role: 'hospital',
      fixmedinsCode: 'H51040000001',
    });
  });

  it('knows nobody without a header, with another scheme, or with an unknown token', () => {
    expect(auth.authenticate(undefined)).toBeNull();
    expect(auth.authenticate(`Basic ${op}`)).toBeNull();
    expect(auth.authenticate(`Bearer ${newToken('operator')}`)).toBeNull();
    expect(auth.authenticate(`Bearer ${op}x`)).toBeNull();
    expect(auth.authenticate('Bearer short')).toBeNull();
  });

  it('makes tokens of 256 random bits that differ each time', () => {
    const a = newToken('auditor');
    expect(a).toMatch(/^ob_auditor_[A-Za-z0-9_-]{43}$/);
    expect(newToken('auditor')).not.toBe(a);
  });
});

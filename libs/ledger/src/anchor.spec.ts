/**
 * Signed archive heads: what a seal publishes is the contract's shape, verifies with the key's
 * public half, and stops verifying when any signed field changes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import {
  HeadKeyError,
  HeadsFormatError,
  appendHeadLine,
  headSigningText,
  keyFingerprint,
  loadHeadPublicKey,
  loadHeadSigningKey,
  parseHeadsText,
  signHead,
} from './anchor';

const root = join(__dirname, '..', '..', '..');
const schema = JSON.parse(
  readFileSync(join(root, 'contracts/events/archive-head.v1.schema.json'), 'utf8'),
) as object;
const schemaAccepts = new Ajv2020({ strict: false, validateFormats: false }).compile(schema);

const dir = mkdtempSync(join(tmpdir(), 'onebill-anchor-'));
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
writeFileSync(join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(join(dir, 'k.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
const head = {
  seq: '1042',
  hash: 'a'.repeat(64),
  sealedAt: '2026-11-30T10:00:00.000000Z',
  firstSeq: '1001',
  entries: 42,
};

describe('signed archive heads', () => {
  it('a signed head is the contract shape and names its key', () => {
    const key = loadHeadSigningKey(join(dir, 'k.pem'));
    const signed = signHead(head, key);
    expect(schemaAccepts(signed)).toBe(true);
    expect(signed.key).toBe(keyFingerprint(loadHeadPublicKey(join(dir, 'k.pub'))));
    expect(headSigningText(signed)).toBe(
      `onebill-archive-head.v1\n1042\n${'a'.repeat(64)}\n2026-11-30T10:00:00.000000Z\n1001\n42`,
    );
    expect(schemaAccepts(signHead(head, null))).toBe(true);
  });

  it('heads appended to a file read back in order; a bad line is named', () => {
    const file = join(dir, 'heads.jsonl');
    const key = loadHeadSigningKey(join(dir, 'k.pem'));
    appendHeadLine(file, signHead(head, key));
    appendHeadLine(file, signHead({ ...head, seq: '1050', firstSeq: '1043', entries: 8 }, key));
    expect(parseHeadsText(readFileSync(file, 'utf8'), file).map((h) => h.seq)).toEqual([
      '1042',
      '1050',
    ]);
    expect(() => parseHeadsText('{"v":1,"seq":"x"}\n', 'f')).toThrow(
      new HeadsFormatError(
        'f line 1: not an archive head (v 1, seq, hash, sealed_at, first_seq, entries, key, sig)',
      ),
    );
  });

  it('refuses a key that is not Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    writeFileSync(join(dir, 'rsa.pem'), rsa.export({ type: 'pkcs8', format: 'pem' }));
    expect(() => loadHeadSigningKey(join(dir, 'rsa.pem'))).toThrow(HeadKeyError);
    expect(() => loadHeadSigningKey(join(dir, 'rsa.pem'))).toThrow(/an Ed25519 key is needed/);
    expect(() => loadHeadSigningKey(join(dir, 'missing.pem'))).toThrow(/not a private key/);
  });
});

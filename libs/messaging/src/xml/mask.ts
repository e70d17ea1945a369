/**
 * A message shown with the person masked, for roles that must not see a name or an ID number
 * (docs/adr/0012-hostile-input.md). Masking works on the parsed tree, never on the text: the
 * whole text content of a person element (its text, its CDATA sections, with any comment in it
 * dropped) is masked as one value, attributes of those names are masked, comments and
 * processing instructions are dropped, and any run that has the shape of an ID-card number left
 * anywhere else is masked too. A message that is not well-formed, or that the parser cannot read
 * within the limits, is not rendered at all: the caller shows its size and hash instead.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { FORBIDDEN_CHARS, LIMITS } from './decode';

export interface Maskers {
  name: (value: string) => string;
  id: (value: string) => string;
  /** the insured person's number, where the caller masks it too */
  psnNo?: (value: string) => string;
}

/** Elements and attributes holding a person's name or ID number, in any of our messages. */
const NAME_FIELDS = new Set(['psn_name', 'name']);
const ID_FIELDS = new Set(['certno', 'cert_no', 'id_card']);
/** An ID-card number (18 characters, GB 11643) or an old 15-digit one, anywhere in text. */
const ID_SHAPE = /\d{17}[\dXx]|\d{15}/g;

const TEXT = '#text';
const CDATA = '#cdata';
const COMMENT = '#comment';
const ATTRS = ':@';

const options = {
  preserveOrder: true,
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: COMMENT,
  cdataPropName: CDATA,
  maxNestedTags: LIMITS.maxDepth - 1,
} as const;
const parser = new XMLParser(options);
const builder = new XMLBuilder({ ...options, suppressEmptyNode: false });

type Node = Record<string, unknown>;

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
function unescape(v: string): string {
  return v.replace(/&(lt|gt|amp|quot|apos);/g, (m, n: string) => PREDEFINED[n] ?? m);
}
function escape(v: string): string {
  return v
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** All the text an element holds (text and CDATA, however nested), comments left out. */
function textOf(children: unknown): string {
  if (!Array.isArray(children)) return '';
  let out = '';
  for (const child of children as Node[]) {
    for (const [k, v] of Object.entries(child)) {
      if (k === TEXT) out += unescape(String(v));
      else if (k === CDATA) out += textOf(v);
      else if (k !== COMMENT && k !== ATTRS) out += textOf(v);
    }
  }
  return out;
}

function maskIds(v: string, m: Maskers): string {
  return v.replace(ID_SHAPE, (id) => m.id(id));
}

function maskOf(field: string, value: string, m: Maskers): string | null {
  if (NAME_FIELDS.has(field)) return m.name(value.trim());
  if (ID_FIELDS.has(field)) return m.id(value.trim());
  if (field === 'psn_no' && m.psnNo !== undefined) return m.psnNo(value.trim());
  return null;
}

function walk(nodes: Node[], m: Maskers): Node[] {
  const out: Node[] = [];
  for (const node of nodes) {
    const next: Node = {};
    let keep = true;
    for (const [k, v] of Object.entries(node)) {
      if (k === COMMENT) {
        keep = false;
      } else if (k === TEXT) {
        next[k] = escape(maskIds(unescape(String(v)), m));
      } else if (k === ATTRS) {
        const attrs: Record<string, string> = {};
        for (const [a, value] of Object.entries(v as Record<string, string>)) {
          const plain = unescape(String(value));
          attrs[a] = escape(maskOf(a.replace(/^@_/, ''), plain, m) ?? maskIds(plain, m));
        }
        next[k] = attrs;
      } else if (k === CDATA) {
        // CDATA outside a person element: its text, with ID-shaped runs masked, as plain text
        next[TEXT] = escape(maskIds(textOf(v), m));
      } else {
        const masked = maskOf(k, textOf(v), m);
        next[k] = masked === null ? walk(v as Node[], m) : [{ [TEXT]: escape(masked) }];
      }
    }
    if (keep) out.push(next);
  }
  return out;
}

/**
 * The message with names and ID numbers masked, or null when it cannot be masked safely (not
 * well-formed, beyond the parser's limits, or holding control characters).
 */
export function maskMessage(xml: string | null, maskers: Maskers): string | null {
  if (xml === null || xml.trim() === '' || FORBIDDEN_CHARS.test(xml)) return null;
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return null;
  if (XMLValidator.validate(xml) !== true) return null;
  let tree: unknown;
  try {
    tree = parser.parse(xml);
  } catch {
    return null;
  }
  if (!Array.isArray(tree)) return null;
  return String(builder.build(walk(tree as Node[], maskers)));
}

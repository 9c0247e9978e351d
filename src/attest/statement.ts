/**
 * The verdict oci-scan attests (docs/attest.md, "Formats"): an in-toto Statement v1 whose
 * subject is the scanned manifest and whose predicate is the scan's JSON document for that
 * image, with the time of the scan and the fingerprint of the policy it was judged by. The
 * bytes are deterministic for one verdict: keys in a fixed order, no time but `scannedAt`.
 */
import { OciScanError } from '../errors.js';
import type { ImageDocument, ScanDocument } from '../report/formats/json.js';
import type { ToolInfo } from '../report/tool.js';

/** The `_type` of an in-toto Statement v1. */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** The predicate type of an oci-scan compliance verdict. */
export const PREDICATE_TYPE = 'https://oci-scan.dev/attestation/compliance/v1';
/** The DSSE payload type of an in-toto statement. */
export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** What the predicate says. */
export interface CompliancePredicate {
  /** When the image was scanned (RFC 3339, UTC): what `--max-age` measures. */
  readonly scannedAt: string;
  /** The policy the results were judged by (src/policy/fingerprint.ts). */
  readonly policy: { readonly fingerprint: string };
  /** The scan's JSON document (docs/reports.md, "Scan document") with this one image. */
  readonly document: ScanDocument;
}

/** An in-toto Statement v1 with the compliance predicate. */
export interface Statement {
  readonly _type: typeof STATEMENT_TYPE;
  readonly subject: ReadonlyArray<{ readonly name: string; readonly digest: { readonly sha256: string } }>;
  readonly predicateType: typeof PREDICATE_TYPE;
  readonly predicate: CompliancePredicate;
}

/** What a statement is made of. */
export interface VerdictInput {
  /** The image's repository as a registry names it (`registry.local:5000/team/app`). */
  readonly repository: string;
  /** The scan document holding exactly the one image attested. */
  readonly document: ScanDocument;
  readonly policyFingerprint: string;
  readonly scannedAt: Date;
}

/** The statement of one image's verdict; throws INTERNAL when the document is not one image with a sha256 manifest digest. */
export function verdictStatement(input: VerdictInput): Statement {
  const [image, more] = input.document.images;
  const hex = /^sha256:([0-9a-f]{64})$/.exec(image?.digest ?? '')?.[1];
  if (!image || more || !hex)
    throw new OciScanError('INTERNAL', 'an attestation needs the document of one image with a sha256 manifest digest');
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: input.repository, digest: { sha256: hex } }],
    predicateType: PREDICATE_TYPE,
    predicate: { scannedAt: input.scannedAt.toISOString(), policy: { fingerprint: input.policyFingerprint }, document: input.document },
  };
}

/** The statement's bytes: compact JSON, the same bytes for the same verdict. */
export function statementBytes(statement: Statement): Buffer {
  return Buffer.from(JSON.stringify(statement), 'utf8');
}

/** A statement that was read back, or why it cannot be one of ours. */
export type ParsedStatement =
  { readonly statement: Statement; readonly image: ImageDocument; readonly tool: ToolInfo } | { readonly problem: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Reads a statement's bytes (untrusted until its signature is checked, and checked field by
 * field after): the type, one sha256 subject, our predicate type, a time, a fingerprint and a
 * document of one image.
 */
export function parseStatement(bytes: Buffer): ParsedStatement {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { problem: 'its statement is not JSON' };
  }
  if (!isRecord(value) || value['_type'] !== STATEMENT_TYPE) return { problem: 'its payload is not an in-toto Statement v1' };
  if (value['predicateType'] !== PREDICATE_TYPE) return { problem: `its predicate type is not ${PREDICATE_TYPE}` };
  const subject = value['subject'];
  const first: unknown = Array.isArray(subject) ? subject[0] : undefined;
  if (
    !Array.isArray(subject) ||
    subject.length !== 1 ||
    !isRecord(first) ||
    typeof first['name'] !== 'string' ||
    !isRecord(first['digest']) ||
    typeof first['digest']['sha256'] !== 'string'
  )
    return { problem: 'its statement does not name one subject by sha256' };
  const predicate = value['predicate'];
  if (!isRecord(predicate) || typeof predicate['scannedAt'] !== 'string' || Number.isNaN(Date.parse(predicate['scannedAt'])))
    return { problem: 'its predicate has no scan time' };
  if (!isRecord(predicate['policy']) || typeof predicate['policy']['fingerprint'] !== 'string')
    return { problem: 'its predicate has no policy fingerprint' };
  const document = predicate['document'];
  const images: unknown = isRecord(document) ? document['images'] : undefined;
  const image: unknown = Array.isArray(images) && images.length === 1 ? images[0] : undefined;
  if (
    !isRecord(document) ||
    !isRecord(document['tool']) ||
    typeof document['tool']['version'] !== 'string' ||
    !isRecord(image) ||
    !Array.isArray(image['results'])
  )
    return { problem: 'its predicate holds no scan document of one image' };
  return {
    statement: value as unknown as Statement,
    image: image as unknown as ImageDocument,
    tool: document['tool'] as unknown as ToolInfo,
  };
}

/**
 * runc's libcontainer/user as a test oracle: test/oracle/runcuser, built against Debian's
 * golang-github-opencontainers-runc-dev by ./gopath-oracle.ts, resolves USER strings against
 * passwd and group bytes with runc's own GetExecUser (docs/security.md, "Runtime parity").
 */
import { gopathOracleSkip, sharedOracle, type OracleSpec } from './gopath-oracle.js';

const SPEC: OracleSpec = {
  name: 'runcuser',
  sources: [{ file: 'github.com/opencontainers/runc/libcontainer/user/user.go', apt: 'golang-github-opencontainers-runc-dev' }],
};

/** One case: USER and the files' bytes (undefined: the file does not exist). */
export interface UserCase {
  readonly user: string;
  readonly passwd: Uint8Array | undefined;
  readonly group: Uint8Array | undefined;
}

/** What runc's GetExecUser returned: ids as decimal Go ints, or `kind: message`. */
export type RuncAnswer = { readonly uid: string; readonly gid: string; readonly error: null } | { readonly error: string };

interface Request {
  readonly user: string;
  readonly passwd: string | null;
  readonly group: string | null;
}

const oracle = sharedOracle<Request, RuncAnswer>(SPEC);
const hex = (b: Uint8Array | undefined): string | null =>
  b === undefined ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** `false` when runcuser can be built, else the loud reason to skip (a failure under OCI_SCAN_REQUIRE_TOOLS=1). */
export function runcOracleSkip(what: string): string | false {
  return gopathOracleSkip(what, SPEC);
}

/** Resolves each case with runc's GetExecUser (one shared process). USER goes to Go as its UTF-8 bytes. */
export function resolveWithRunc(cases: readonly UserCase[]): Promise<RuncAnswer[]> {
  return oracle.ask(cases.map((c) => ({ user: Buffer.from(c.user, 'utf8').toString('hex'), passwd: hex(c.passwd), group: hex(c.group) })));
}

/** Stops the shared process (call from `after`, or the test process never ends). */
export function closeRuncOracle(): Promise<void> {
  return oracle.close();
}

/**
 * containerd's and podman's reading of an imported image name as a test oracle:
 * test/oracle/refname, built against Debian's golang-github-containerd-containerd-dev and
 * golang-github-containers-image-dev by ./gopath-oracle.ts (docs/security.md, "Runtime parity").
 */
import { gopathOracleSkip, sharedOracle, type OracleSpec } from './gopath-oracle.js';

const SPEC: OracleSpec = {
  name: 'refname',
  sources: [
    { file: 'github.com/containerd/containerd/images/archive/reference.go', apt: 'golang-github-containerd-containerd-dev' },
    { file: 'github.com/containerd/containerd/reference/docker/reference.go', apt: 'golang-github-containerd-containerd-dev' },
    { file: 'github.com/containers/image/docker/reference/reference.go', apt: 'golang-github-containers-image-dev' },
  ],
};

/** One runtime's reading: the tag or digest the image is named with ('' when absent), or why the name is refused. */
export interface NameReading {
  /** containerd only: the image name its import stores. */
  readonly name?: string;
  readonly tag: string;
  readonly digest: string;
  readonly error: string;
}

/** What containerd and podman make of one name. */
export interface RefNameAnswer {
  readonly containerd: NameReading;
  readonly podman: NameReading;
}

const oracle = sharedOracle<{ readonly name: string }, RefNameAnswer>(SPEC);

/** `false` when refname can be built, else the loud reason to skip (a failure under OCI_SCAN_REQUIRE_TOOLS=1). */
export function refNameOracleSkip(what: string): string | false {
  return gopathOracleSkip(what, SPEC);
}

/** Reads each name as containerd's import and podman's load do (one shared process). */
export function readWithRuntimes(names: readonly string[]): Promise<RefNameAnswer[]> {
  return oracle.ask(names.map((name) => ({ name })));
}

/** Stops the shared process (call from `after`). */
export function closeRefNameOracle(): Promise<void> {
  return oracle.close();
}

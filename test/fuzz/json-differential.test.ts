/**
 * JSON parity with the container runtimes (docs/security.md "Runtime parity"): every image
 * document a runtime decodes — configs, registry manifests and indexes, an OCI layout's
 * index.json, a docker archive's manifest.json and repositories — is decoded by oci-scan's Go
 * semantics (src/image/go-json.ts) into each runtime's struct, and by the runtimes' own Go code
 * (test/oracle/gojson through test/helpers/json-oracle.ts: image-spec, containers/image,
 * docker/distribution and docker's container.Config, containerd's platform matcher). For each
 * runtime the two must agree on refusal and on every field oci-scan reads. Then what oci-scan
 * itself keeps (parseConfig, parseManifestDocument, parseLayoutIndex, parseArchiveManifest) must
 * be the union those views allow: refused only when every runtime refuses, and the failing value
 * where accepting runtimes differ.
 *
 * Named cases per class first (each also asserts what it names), then a campaign of generated
 * and damaged documents per kind (test/fuzz/json-hostile.ts): OCI_SCAN_JSON_CASES per kind
 * (default 10000), OCI_SCAN_JSON_SEED. Needs go and Debian's golang-github-*-dev sources.
 */
import { strict as assert } from 'node:assert';
import { after, it } from 'node:test';
import { configViews, parseConfig, type ImageConfig, type RuntimeConfig } from '../../src/image/config.js';
import { decodeGoResult, Go, GoJsonError, parseGoJson, type GoReadMode, type GoValue } from '../../src/image/go-json.js';
import {
  indexViews,
  manifestViews,
  OCI_INDEX_SHAPE,
  parseLayoutIndex,
  parseManifestDocument,
  type Descriptor,
  type IndexView,
  type ManifestView,
} from '../../src/image/manifest.js';
import { candidatesAcrossReadings, indexCandidates, parsePlatform } from '../../src/image/platform.js';
import { archiveManifestViews, parseArchiveManifest, type ArchiveManifestView } from '../../src/sources/docker-archive.js';
import { closeJsonOracle, decodeWithGo, jsonOracleSkip, type OracleKind, type OracleRequest } from '../helpers/json-oracle.js';
import { generate, Rng, type DocKind } from './json-hostile.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = jsonOracleSkip('JSON parity with the runtimes (test/fuzz/json-differential.test.ts)');
const CASES = Number(process.env['OCI_SCAN_JSON_CASES'] ?? 10000);
const SEED = Number(process.env['OCI_SCAN_JSON_SEED'] ?? 17);
const WANTED = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/386'] as const;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

after(() => closeJsonOracle());

// ---- Our views, as test/oracle/gojson/main.go reports them.

/** Keys in one order for both sides (Go sorts bytes, JS code units). */
const sorted = (keys: Iterable<string>): string[] => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

function configReport(view: ImageConfig | undefined): unknown {
  if (view === undefined) return null;
  const c: RuntimeConfig | undefined = view.config ?? undefined;
  const h = c?.Healthcheck ?? undefined;
  return {
    hasConfig: c !== undefined,
    user: c?.User ?? '',
    exposedPorts: c?.ExposedPorts ? sorted(Object.keys(c.ExposedPorts)) : null,
    labels: c?.Labels ?? null,
    entrypoint: c?.Entrypoint ?? null,
    cmd: c?.Cmd ?? null,
    env: c?.Env ?? null,
    volumes: c?.Volumes ? sorted(Object.keys(c.Volumes)) : null,
    workingDir: c?.WorkingDir ?? '',
    healthcheck: h
      ? {
          test: h.Test ?? null,
          interval: String(h.Interval),
          timeout: String(h.Timeout),
          startPeriod: String(h.StartPeriod),
          retries: String(h.Retries),
        }
      : null,
    history: view.history
      ? view.history.map((e) => ({ created_by: e.created_by, author: e.author, comment: e.comment, empty_layer: e.empty_layer }))
      : null,
    hasRootfs: view.rootfs !== undefined,
    rootfsType: view.rootfs?.type ?? '',
    diffIds: view.rootfs?.diff_ids ?? null,
    os: view.os ?? '',
    architecture: view.architecture ?? '',
    variant: view.variant ?? '',
  };
}

function descReport(d: Descriptor): unknown {
  const p = d.platform;
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: String(d.size),
    urls: d.urls ?? null,
    annotations: d.annotations ?? null,
    platform: p
      ? {
          os: p.os,
          architecture: p.architecture,
          variant: p.variant ?? '',
          osVersion: p['os.version'] ?? '',
          osFeatures: p['os.features'] ?? null,
        }
      : null,
  };
}

function manifestReport(view: ManifestView | undefined): unknown {
  if (view === undefined) return null;
  return {
    schemaVersion: String(view.schemaVersion),
    mediaType: view.mediaType ?? '',
    config: descReport(view.config),
    layers: view.layers?.map(descReport) ?? null,
    annotations: view.annotations ?? null,
  };
}

function chosen(manifests: readonly Descriptor[]): Record<string, number[]> {
  return Object.fromEntries(
    WANTED.map((w) => [w, indexCandidates(manifests, parsePlatform(w)).map((c) => manifests.indexOf(c.descriptor))]),
  );
}

function indexReport(view: IndexView | undefined): unknown {
  if (view === undefined) return null;
  return {
    schemaVersion: String(view.schemaVersion),
    mediaType: view.mediaType ?? '',
    manifests: view.manifests?.map(descReport) ?? null,
    annotations: view.annotations ?? null,
    chosen: chosen(view.manifests ?? []),
  };
}

function archiveReport(view: ArchiveManifestView): unknown {
  if (view === undefined) return null;
  return {
    items:
      view === null
        ? null
        : view.map((e) => ({
            config: e.Config,
            repoTags: e.RepoTags ?? null,
            layers: e.Layers ?? null,
            layerSources: e.LayerSources
              ? Object.fromEntries(Object.entries(e.LayerSources).map(([k, v]) => [k, descReport(v as Descriptor)]))
              : null,
          })),
  };
}

function parsed(bytes: Uint8Array, mode: GoReadMode = 'unmarshal'): GoValue | undefined {
  try {
    return parseGoJson(bytes, mode);
  } catch (err) {
    if (err instanceof GoJsonError) return undefined;
    throw err;
  }
}

/** Our reading of `request`, per runtime view, in the oracle's report form. */
function ours(request: OracleRequest): Record<string, unknown> {
  const { bytes, mediaType } = request;
  switch (request.kind) {
    case 'config': {
      const doc = parsed(bytes);
      const v = doc === undefined ? { oci: undefined, schema2: undefined, docker: undefined } : configViews(doc);
      return { oci: configReport(v.oci), schema2: configReport(v.schema2), docker: configReport(v.docker) };
    }
    case 'manifest': {
      const doc = parsed(bytes);
      const v =
        doc === undefined
          ? { oci: undefined, docker: undefined, cimage: undefined }
          : manifestViews(doc, mediaType === DOCKER_MANIFEST ? 'docker' : 'oci');
      return { oci: manifestReport(v.oci), docker: manifestReport(v.docker), cimage: manifestReport(v.cimage) };
    }
    case 'index': {
      const doc = parsed(bytes);
      const v =
        doc === undefined
          ? { oci: undefined, docker: undefined, cimage: undefined }
          : indexViews(doc, mediaType === DOCKER_LIST ? 'docker' : 'oci');
      return { oci: indexReport(v.oci), docker: indexReport(v.docker), cimage: indexReport(v.cimage) };
    }
    case 'layout': {
      const view = (mode: GoReadMode): unknown => {
        const doc = parsed(bytes, mode);
        if (doc === undefined) return null;
        const d = decodeGoResult<IndexView>(doc, OCI_INDEX_SHAPE);
        return d.ok ? indexReport(d.value) : null;
      };
      return { cimage: view('unmarshal'), containerd: view('decoder') };
    }
    case 'archive': {
      const v = archiveManifestViews(bytes);
      return { docker: archiveReport(v.docker), cimage: archiveReport(v.cimage), containerd: archiveReport(v.containerd) };
    }
    case 'repositories': {
      const doc = parsed(bytes, 'decoder');
      if (doc === undefined) return { docker: null };
      // docker's legacyLoad decodes into a map it made first.
      const d = decodeGoResult<Record<string, Record<string, string>> | undefined>(doc, Go.map(Go.map(Go.string)), { '': 'empty map' });
      return { docker: d.ok ? { repos: d.value ?? null } : null };
    }
  }
}

/** Go's report with its int64 decimals as our numbers read them, and key lists in our order. */
function normalise(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return key === 'exposedPorts' || key === 'volumes' ? sorted(value as string[]) : value.map((v) => normalise(v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      Object.defineProperty(out, k, { value: normalise(v, k), enumerable: true, writable: true, configurable: true });
    return out;
  }
  if (typeof value === 'string' && ['size', 'schemaVersion', 'interval', 'timeout', 'startPeriod', 'retries'].includes(key))
    return String(Number(value) + 0);
  return value;
}

/** The views where ours and Go's differ, with both readings; empty when they agree. */
function disagreements(request: OracleRequest, go: Readonly<Record<string, unknown>>): string[] {
  const mine = ours(request);
  const out: string[] = [];
  for (const view of Object.keys(go)) {
    const g = normalise(go[view]);
    const o = normalise(mine[view]);
    try {
      assert.deepStrictEqual(o, g);
    } catch {
      out.push(`${view}: go ${JSON.stringify(g)} ours ${JSON.stringify(o)}`);
    }
  }
  return out;
}

// ---- What oci-scan keeps must be the union of the runtimes' views.

type ConfigGo = {
  hasConfig: boolean;
  user: string;
  exposedPorts: string[] | null;
  labels: Record<string, string> | null;
  entrypoint: string[] | null;
  cmd: string[] | null;
  diffIds: string[] | null;
};

function unionConfigProblems(bytes: Buffer, go: Readonly<Record<string, unknown>>): string[] {
  // docker and containerd/podman (the OCI struct) run images; containers/image's Schema2Image is podman's inspect only.
  const accepting = [go['docker'], go['oci']].filter((v): v is ConfigGo => v !== null && v !== undefined);
  let config: ImageConfig;
  try {
    config = parseConfig(bytes, 'config');
  } catch (err) {
    return accepting.length === 0 ? [] : [`refused (${(err as Error).message}) though ${accepting.length} runtime(s) accept it`];
  }
  if (accepting.length === 0) return ['accepted though every runtime refuses it'];
  const c = config.config ?? {};
  const problems: string[] = [];
  const users = accepting.map((v) => v.user);
  if (users.includes('') ? c.User !== '' && c.User !== undefined : !users.includes(c.User ?? ''))
    problems.push(`user ${JSON.stringify(c.User)} not the failing one of ${JSON.stringify(users)}`);
  const ports = new Set(accepting.flatMap((v) => v.exposedPorts ?? []));
  if (JSON.stringify(sorted(Object.keys(c.ExposedPorts ?? {}))) !== JSON.stringify(sorted(ports)))
    problems.push(`ports ${JSON.stringify(Object.keys(c.ExposedPorts ?? {}))} not every port exposed: ${JSON.stringify([...ports])}`);
  const labelKeys = sorted(Object.keys(c.Labels ?? {}));
  const everywhere = sorted(
    Object.keys(accepting[0]?.labels ?? {}).filter((k) => accepting.every((v) => v.labels !== null && Object.hasOwn(v.labels, k))),
  );
  if (JSON.stringify(labelKeys) !== JSON.stringify(everywhere))
    problems.push(`labels ${JSON.stringify(labelKeys)} not those every runtime sees: ${JSON.stringify(everywhere)}`);
  for (const [field, mine] of [
    ['entrypoint', c.Entrypoint],
    ['cmd', c.Cmd],
  ] as const) {
    const theirs = accepting.map((v) => v[field]);
    const empty = theirs.some((l) => l === null || l.length === 0);
    const ourList = (mine ?? []) as string[];
    if (empty ? ourList.length > 0 : !theirs.some((l) => JSON.stringify(l) === JSON.stringify(ourList)))
      problems.push(`${field} ${JSON.stringify(mine)} not the failing one of ${JSON.stringify(theirs)}`);
  }
  const diffIds = config.rootfs?.diff_ids ?? null;
  if (!accepting.some((v) => JSON.stringify(v.diffIds) === JSON.stringify(diffIds)))
    problems.push(`diff_ids ${JSON.stringify(diffIds)} seen by no runtime`);
  return problems;
}

/** The fields of a descriptor every runtime reads alike. */
const core = (d: { mediaType: string; digest: string; size: string | number; urls?: string[] | null }): string =>
  JSON.stringify([d.mediaType, d.digest, String(Number(d.size) + 0), d.urls ?? null]);

/** Refusals of a constraint oci-scan adds to what Go decodes (digests that name blobs, media types, schema 1, artifacts), not of the decoding. */
const CONSTRAINT = /is invalid: \/|schema 1|media type|OCI artifact/;

function unionManifestProblems(request: OracleRequest, go: Readonly<Record<string, unknown>>): string[] {
  const accepting = Object.values(go).filter(
    (
      v,
    ): v is {
      config: Parameters<typeof core>[0];
      layers: Array<Parameters<typeof core>[0]> | null;
      manifests: Array<Parameters<typeof core>[0] & { platform: unknown }> | null;
      chosen: Record<string, number[]>;
    } => v !== null && v !== undefined,
  );
  let doc;
  try {
    doc = parseManifestDocument(request.bytes, request.mediaType, 'doc');
  } catch (err) {
    const message = (err as Error).message;
    if (accepting.length > 0 && !CONSTRAINT.test(message)) return [`refused (${message}) though ${accepting.length} runtime(s) accept it`];
    return [];
  }
  if (accepting.length === 0) return ['accepted though every runtime refuses it'];
  const problems: string[] = [];
  if (doc.kind === 'manifest') {
    const mine = JSON.stringify([core(doc.manifest.config), doc.manifest.layers.map(core)]);
    for (const v of accepting)
      if (JSON.stringify([core(v.config), (v.layers ?? []).map(core)]) !== mine)
        problems.push(`config/layers ${mine} differ from a runtime's`);
    return problems;
  }
  const mine = JSON.stringify(doc.index.manifests.map(core));
  for (const v of accepting)
    if (JSON.stringify((v.manifests ?? []).map(core)) !== mine) problems.push(`entries ${mine} differ from a runtime's`);
  // The entry scanned for a platform is the one every runtime tries first, or the index is refused.
  for (const w of WANTED) {
    // A runtime that finds no entry for the platform runs nothing: only the others must agree.
    const firsts = new Set(accepting.flatMap((v) => (v.chosen[w]?.length ? [v.chosen[w]?.[0] as number] : [])));
    if (firsts.size === 0) firsts.add(-1);
    let pick: number;
    try {
      const readings = [doc.index.manifests, ...(doc.index.readings ?? [])];
      const candidates = candidatesAcrossReadings(readings, parsePlatform(w), 'doc');
      pick = candidates[0] === undefined ? -1 : doc.index.manifests.indexOf(candidates[0].descriptor);
    } catch {
      if (firsts.size < 2) problems.push(`${w}: refused as ambiguous though every runtime tries entry ${[...firsts][0] ?? -1} first`);
      continue;
    }
    if (firsts.size > 1 || !firsts.has(pick))
      problems.push(`${w}: we take entry ${pick}, the runtimes try ${JSON.stringify([...firsts])} first`);
  }
  return problems;
}

function unionLayoutProblems(bytes: Buffer, go: Readonly<Record<string, unknown>>): string[] {
  const accepting = Object.values(go).filter(
    (v): v is { manifests: Array<Parameters<typeof core>[0]> | null } => v !== null && v !== undefined,
  );
  try {
    const index = parseLayoutIndex(bytes, 'index.json');
    if (accepting.length === 0) return ['accepted though every runtime refuses it'];
    const mine = JSON.stringify(index.manifests.map(core));
    return accepting.some((v) => JSON.stringify((v.manifests ?? []).map(core)) === mine) ? [] : [`entries ${mine} seen by no runtime`];
  } catch (err) {
    const message = (err as Error).message;
    return accepting.length > 0 && !CONSTRAINT.test(message) ? [`refused (${message}) though a runtime accepts it`] : [];
  }
}

function unionArchiveProblems(bytes: Buffer, go: Readonly<Record<string, unknown>>): string[] {
  const accepting = [go['docker'], go['cimage'], go['containerd']].filter(
    (v): v is { items: Array<{ config: string; repoTags: string[] | null; layers: string[] | null }> | null } =>
      v !== null && v !== undefined,
  );
  const key = (items: ReadonlyArray<{ config: string; repoTags: string[] | null; layers: string[] | null }> | null): string =>
    JSON.stringify((items ?? []).map((i) => [i.config, i.repoTags ?? [], i.layers ?? []]));
  let entries;
  try {
    entries = parseArchiveManifest(bytes, 'manifest.json');
  } catch (err) {
    return accepting.length === 0 ? [] : [`refused (${(err as Error).message}) though a runtime accepts it`];
  }
  if (accepting.length === 0) return ['accepted though every runtime refuses it'];
  const mine = key(entries.map((e) => ({ config: e.Config, repoTags: e.RepoTags ?? null, layers: e.Layers ?? null })));
  const theirs = new Set(accepting.map((v) => key(v.items)));
  if (theirs.size > 1) return [`the runtimes read Config/RepoTags/Layers differently: ${[...theirs].join(' | ')}`];
  return theirs.has(mine) ? [] : [`entries ${mine} differ from the runtimes' ${[...theirs].join(' | ')}`];
}

function unionProblems(request: OracleRequest, go: Readonly<Record<string, unknown>>): string[] {
  const bytes = Buffer.from(request.bytes);
  switch (request.kind) {
    case 'config':
      return unionConfigProblems(bytes, go);
    case 'manifest':
    case 'index':
      return unionManifestProblems(request, go);
    case 'layout':
      return unionLayoutProblems(bytes, go);
    case 'archive':
      return unionArchiveProblems(bytes, go);
    case 'repositories':
      return [];
  }
}

/** Runs `requests` through both readers; fails naming the first few disagreements. */
async function compare(requests: readonly OracleRequest[], label: string): Promise<{ accepted: number }> {
  const answers = await decodeWithGo(requests);
  const failures: string[] = [];
  let accepted = 0;
  requests.forEach((request, i) => {
    const go = answers[i] as Readonly<Record<string, unknown>>;
    if (Object.values(go).some((v) => v !== null)) accepted++;
    const problems = [...disagreements(request, go), ...unionProblems(request, go).map((p) => `oci-scan: ${p}`)];
    if (problems.length > 0 && failures.length < 5)
      failures.push(
        `${label} #${i} ${request.mediaType ?? ''} ${JSON.stringify(Buffer.from(request.bytes).toString('latin1').slice(0, 400))}\n  ${problems.join('\n  ')}`,
      );
  });
  assert.equal(failures.length, 0, failures.join('\n'));
  return { accepted };
}

const doc = (kind: OracleKind, text: string | Buffer, mediaType?: string): OracleRequest => ({
  kind,
  bytes: typeof text === 'string' ? Buffer.from(text, 'utf8') : text,
  ...(mediaType ? { mediaType } : {}),
});
const ROOTFS = '"rootfs":{"type":"layers","diff_ids":[]}';
const D = (c: string): string => `sha256:${c.repeat(64)}`;
const DESC = `{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"${D('a')}","size":1}`;
const CONFIG_DESC = `{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${D('c')}","size":2}`;

/** Parses and checks a config with oci-scan, against the oracle too. */
async function config(text: string | Buffer): Promise<ImageConfig> {
  await compare([doc('config', text)], 'named');
  return parseConfig(typeof text === 'string' ? Buffer.from(text) : text, 'config');
}

describeOrSkip('JSON parity with the runtimes: named cases', { skip }, () => {
  it('field names match case-insensitively with Go folding (ſ = s, K = k), an exact name first', async () => {
    for (const key of ['User', 'user', 'USER', 'Uſer', 'uſer'])
      assert.equal((await config(`{"config":{"${key}":"0:0"},${ROOTFS}}`)).config?.User, '0:0', key);
    // ı (dotless i) is no fold of i for Go: the key names nothing.
    assert.equal(
      (await config(`{"config":{"User":"app","Labels":{"a":"1"},"Labelſ":{"b":"2"},"Labeİs":{"c":"3"}},${ROOTFS}}`)).config?.Labels?.['b'],
      '2',
    );
    assert.deepEqual(
      Object.keys(
        (await config(`{"config":{"ExpoſedPorts":{"22/tcp":{}},"Healthcheck":{"Test":["CMD"]}},${ROOTFS}}`)).config?.ExposedPorts ?? {},
      ),
      ['22/tcp'],
    );
    for (const key of ['HealthchecK', 'Healthchec\u212a', 'healthcheck'])
      assert.equal((await config(`{"config":{"${key}":{"Test":["NONE"]}},${ROOTFS}}`)).config?.Healthcheck?.Test?.[0], 'NONE', key);
  });

  it("the last key wins at every level, whatever its case; a second object adds to a map and keeps a struct's other fields", async () => {
    const c = await config(
      `{"config":{"User":"app:app","user":"0:0","Labels":{"a":"b"},"labels":{"c":"d"}},"CONFIG":{"Cmd":["x"]},${ROOTFS}}`,
    );
    assert.equal(c.config?.User, '0:0');
    assert.deepEqual(c.config?.Labels, { a: 'b', c: 'd' });
    assert.deepEqual(c.config?.Cmd, ['x']);
    const m = parseManifestDocument(
      Buffer.from(`{"schemaVersion":2,"config":${CONFIG_DESC},"layers":[${DESC}],"Layers":[{"digest":"${D('b')}"}]}`),
      OCI_MANIFEST,
      'm',
    );
    assert.equal(m.kind === 'manifest' && m.manifest.layers[0]?.digest, D('b'));
    // The reused element keeps the first layer's mediaType and size: Go decodes into it.
    assert.equal(m.kind === 'manifest' && m.manifest.layers[0]?.size, 1);
    await compare(
      [doc('manifest', `{"schemaVersion":2,"config":${CONFIG_DESC},"layers":[${DESC}],"Layers":[{"digest":"${D('b')}"}]}`, OCI_MANIFEST)],
      'named',
    );
  });

  it('null sets a slice, map or pointer to nil, and leaves strings, numbers and structs as they were', async () => {
    const c = await config(
      `{"config":{"User":"app","Labels":{"a":"b"},"Labels":null,"User":null,"Entrypoint":["sh"],"Entrypoint":null},${ROOTFS}}`,
    );
    assert.equal(c.config?.User, 'app');
    assert.deepEqual(c.config?.Labels ?? {}, {});
    assert.equal(c.config?.Entrypoint, undefined);
    // "config": null: docker's pointer forgets the config, OCI's struct keeps it; the failing values win.
    const u = await config(
      `{"config":{"User":"app","ExposedPorts":{"22/tcp":{}},"Labels":{"a":"b"},"Cmd":["run"]},"config":null,${ROOTFS}}`,
    );
    assert.equal(u.config?.User, '');
    assert.deepEqual(Object.keys(u.config?.ExposedPorts ?? {}), ['22/tcp']);
    assert.deepEqual(u.config?.Labels ?? {}, {});
    assert.equal(u.config?.Cmd, undefined);
  });

  it('null (or no) layers, Layers and diff_ids are an image without layers, not a damaged one', async () => {
    const m = parseManifestDocument(
      Buffer.from(`{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":${CONFIG_DESC},"layers":null}`),
      undefined,
      'm',
    );
    assert.deepEqual(m.kind === 'manifest' && m.manifest.layers, []);
    assert.deepEqual(parseConfig(Buffer.from('{"rootfs":{"type":"layers","diff_ids":null}}'), 'c').rootfs?.diff_ids ?? [], []);
    assert.deepEqual(
      parseArchiveManifest(Buffer.from('[{"Config":"c.json","RepoTags":null,"Layers":null}]'), 'manifest.json')[0]?.Layers ?? [],
      [],
    );
    await compare(
      [
        doc('manifest', `{"schemaVersion":2,"config":${CONFIG_DESC},"layers":null}`, OCI_MANIFEST),
        doc('config', '{"rootfs":{"type":"layers","diff_ids":null}}'),
        doc('archive', '[{"Config":"c.json","Layers":null}]'),
      ],
      'named',
    );
  });

  it('invalid UTF-8 and lone surrogate escapes become U+FFFD, in values and keys', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"config":{"User":"a'),
      Buffer.from('e282ff', 'hex'),
      Buffer.from('\\ud800b\\ud83d\\ude00","Labels":{"k'),
      Buffer.from('ed a0 80'.replace(/ /g, ''), 'hex'),
      Buffer.from(`":"v"}},${ROOTFS}}`),
    ]);
    const c = await config(bytes);
    // E2 82 FF: three bytes of no character, one U+FFFD each (as utf8.DecodeRune steps); \ud800 alone: one more.
    assert.equal(c.config?.User, 'a\ufffd\ufffd\ufffd\ufffdb😀');
    assert.deepEqual(Object.keys(c.config?.Labels ?? {}), ['k\ufffd\ufffd\ufffd']);
  });

  it('types, numbers and depth: refused where every runtime refuses, read where one accepts', async () => {
    // A float or an out-of-range size: every runtime refuses (int64).
    for (const size of ['1.0', '1e3', '9223372036854775808']) {
      const text = `{"schemaVersion":2,"config":${CONFIG_DESC},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"${D('a')}","size":${size}}]}`;
      assert.throws(() => parseManifestDocument(Buffer.from(text), OCI_MANIFEST, 'm'), /no container runtime/, size);
      await compare([doc('manifest', text, OCI_MANIFEST)], 'named');
    }
    // A string ENTRYPOINT: docker's StrSlice reads it, image-spec's []string does not.
    assert.deepEqual((await config(`{"config":{"Entrypoint":"/bin/sh"},${ROOTFS}}`)).config?.Entrypoint, ['/bin/sh']);
    // ...but without rootfs docker refuses too, and so does every runtime.
    assert.throws(() => parseConfig(Buffer.from('{"config":{"Entrypoint":"/bin/sh"}}'), 'c'), /INVALID_CONFIG|no container runtime/);
    // A Healthcheck docker cannot read: containerd and podman (OCI) still run the image.
    assert.equal((await config(`{"config":{"User":"app","Healthcheck":{"Interval":"5s"}},${ROOTFS}}`)).config?.User, 'app');
    // An invalid created time: every runtime refuses.
    assert.throws(() => parseConfig(Buffer.from(`{"created":"yesterday",${ROOTFS}}`), 'c'), /created/);
    await compare(
      [doc('config', `{"created":"yesterday",${ROOTFS}}`), doc('config', `{"created":"2024-01-02T3:04:05Z",${ROOTFS}}`)],
      'named',
    );
    // Nesting: Go's scanner allows 10000 levels, not 10001.
    const nested = (n: number): string => `{"deep":${'['.repeat(n)}${']'.repeat(n - 1)}],${ROOTFS}}`;
    assert.doesNotThrow(() => parseConfig(Buffer.from(nested(9999)), 'c'));
    assert.throws(() => parseConfig(Buffer.from(nested(10000)), 'c'), /max depth/);
    await compare([doc('config', nested(9999)), doc('config', nested(10000))], 'named');
  });

  it('docker archives: keys fold, the last wins, and trailing bytes after manifest.json are ignored as docker load does', async () => {
    const entries = parseArchiveManifest(
      Buffer.from('[{"config":"a.json","Config":"b.json","LAYERS":["x/layer.tar"],"RepoTags":["app:1"],"repotags":null}] trailing'),
      'manifest.json',
    );
    assert.deepEqual(entries, [{ Config: 'b.json', Layers: ['x/layer.tar'] }]);
    await compare(
      [
        doc('archive', '[{"config":"a.json","Config":"b.json","LAYERS":["x/layer.tar"],"RepoTags":["app:1"],"repotags":null}] trailing'),
        doc('repositories', '{"app":{"latest":"x"},"app":{"1.0":"y"}}'),
      ],
      'named',
    );
  });

  it('indexes: a platform that ends null is no platform to containerd and an empty one to docker and podman: refused when they would run different images', async () => {
    const entry = (d: string, platform: string): string =>
      `{"mediaType":"${OCI_MANIFEST}","digest":"${D(d)}","size":3,"platform":${platform}}`;
    const amd = '{"os":"linux","architecture":"amd64"}';
    const list = (entries: string[]): Buffer =>
      Buffer.from(`{"schemaVersion":2,"mediaType":"${DOCKER_LIST}","manifests":[${entries.join(',')}]}`);
    // Agreement: a real amd64 entry first, the null one last for containerd only.
    const agreed = parseManifestDocument(list([entry('a', amd), entry('b', 'null')]), DOCKER_LIST, 'i');
    assert.ok(agreed.kind === 'index');
    assert.equal(
      candidatesAcrossReadings([agreed.index.manifests, ...(agreed.index.readings ?? [])], parsePlatform('linux/amd64'), 'i')[0]?.descriptor
        .digest,
      D('a'),
    );
    // Disagreement: containerd tries the entry whose platform became nil, docker and podman the other.
    const ambiguous = parseManifestDocument(
      list([
        `{"mediaType":"${OCI_MANIFEST}","digest":"${D('a')}","size":3,"platform":${amd},"platform":null}`,
        entry('b', '{"os":"linux","architecture":"386"}'),
      ]),
      DOCKER_LIST,
      'i',
    );
    assert.ok(ambiguous.kind === 'index');
    assert.throws(
      () => candidatesAcrossReadings([ambiguous.index.manifests, ...(ambiguous.index.readings ?? [])], parsePlatform('linux/amd64'), 'i'),
      /ambiguous/,
    );
    await compare(
      [
        doc('index', list([entry('a', amd), entry('b', 'null')]), DOCKER_LIST),
        doc('layout', `{"schemaVersion":2,"manifests":[${entry('a', amd)}],"Manifests":null} {`),
      ],
      'named',
    );
  });
});

describeOrSkip('JSON parity with the runtimes: generated and damaged documents', { skip }, () => {
  for (const kind of ['config', 'manifest', 'index', 'layout', 'archive', 'repositories'] as const satisfies readonly DocKind[]) {
    it(`${CASES} ${kind} documents (seed ${SEED}): every runtime's view and oci-scan's union agree with the runtimes' Go code`, async () => {
      const rng = new Rng(SEED * 1000 + kind.length * 7 + kind.charCodeAt(0));
      let accepted = 0;
      const batch = 500;
      for (let done = 0; done < CASES; done += batch) {
        const requests = Array.from({ length: Math.min(batch, CASES - done) }, () => ({ kind, ...generate(rng, kind) }) as OracleRequest);
        accepted += (await compare(requests, kind)).accepted;
      }
      // The campaign must exercise both outcomes.
      assert.ok(accepted > CASES / 10 && accepted < CASES, `${accepted} of ${CASES} ${kind} documents accepted by some runtime`);
      console.log(`# ${kind}: ${CASES} documents, ${accepted} accepted by some runtime`);
    });
  }
});

/**
 * The validators compiled ahead of time (scripts/validators.ts, docs/architecture.md "Memory
 * and speed"): each generated module is what the generator makes from today's schemas, the
 * code uses every one of them, and each gives the same answers as ajv compiling the same
 * schema at run time, on real documents and on generated JSON.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { ErrorObject } from 'ajv';
import { generate } from '../../../scripts/validators.js';
import { precompiledFor, runtimeAjv, schemaHash } from '../../../src/schema/compile.js';
import { lazyValidators, schemaFilesHash, schemaTexts, type SchemaFiles } from '../../../src/schema/files.js';
import { WIRE_AJV_OPTIONS, wireSchemas } from '../../../src/schema/wire.js';
import * as wireModule from '../../../src/schema/wire.generated.js';
import * as reportModule from '../../../src/schema/report.generated.js';
import * as policyModule from '../../../src/schema/policy.generated.js';
import * as auditModule from '../../../src/schema/audit-summary.generated.js';
import { AUDIT_AJV_OPTIONS, AUDIT_SUMMARY_SCHEMA_URL, AUDIT_SUMMARY_SCHEMAS } from '../../../src/audit/validate.js';
import { REPORT_AJV_OPTIONS, REPORT_SCHEMAS } from '../../../src/report/validate.js';
import { POLICY_AJV_OPTIONS, POLICY_SCHEMA_URL, POLICY_SCHEMAS } from '../../../src/policy/validate.js';

const ROOT = new URL('../../../../', import.meta.url);

test('every generated validator module is what scripts/validators.ts makes from the schemas today (run `npm run validators` after changing a schema)', () => {
  const modules = generate();
  assert.equal(modules.length, 4);
  for (const { path, text } of modules)
    assert.ok(readFileSync(new URL(path, ROOT), 'utf8') === text, `${path} is stale: run npm run validators`);
});

test('the code uses a precompiled validator for every wire schema, report schema, the policy schema and the audit summary schema', () => {
  const names = [...wireSchemas().keys()].sort();
  assert.deepEqual(names, ['catalog', 'index', 'manifest', 'tags']);
  for (const [name, schema] of wireSchemas()) assert.ok(precompiledFor(wireModule, name, schemaHash(schema)), `wire schema ${name}`);
  const hash = schemaFilesHash(schemaTexts(REPORT_SCHEMAS));
  for (const name of ['report', 'reportSet', 'scanDocument']) assert.ok(precompiledFor(reportModule, name, hash), `report schema ${name}`);
  for (const set of [REPORT_SCHEMAS, AUDIT_SUMMARY_SCHEMAS, POLICY_SCHEMAS] as Array<SchemaFiles<string>>) {
    assert.equal(set.precompiled === reportModule || set.precompiled === auditModule || set.precompiled === policyModule, true);
    const made = lazyValidators(set)();
    for (const name of Object.keys(set.validators))
      assert.equal(
        made[name],
        precompiledFor(set.precompiled, name, schemaFilesHash(schemaTexts(set))),
        `${set.files.join(', ')}: ${name} is the precompiled validator`,
      );
  }
  assert.ok(precompiledFor(policyModule, 'policy', schemaHash(readFileSync(POLICY_SCHEMA_URL, 'utf8'))));
  const auditHash = schemaHash(readFileSync(AUDIT_SUMMARY_SCHEMA_URL, 'utf8'));
  for (const name of ['summary', 'image']) assert.ok(precompiledFor(auditModule, name, auditHash), `audit ${name}`);
  // A changed schema is never validated by the validator of the old one.
  assert.equal(precompiledFor(wireModule, 'manifest', schemaHash({ type: 'object' })), undefined);
  assert.equal(precompiledFor(reportModule, 'report', 'f'.repeat(64)), undefined);
});

type Fn = ((doc: unknown) => boolean) & { errors?: ErrorObject[] | null };
const answer = (fn: Fn, doc: unknown): unknown => {
  const ok = fn(doc);
  return { ok, errors: (fn.errors ?? []).map((e) => ({ instancePath: e.instancePath, keyword: e.keyword, params: e.params as unknown })) };
};

/** Documents shaped like the real ones, damaged in every field now and then, and plain JSON. */
const descriptor = fc.record(
  {
    mediaType: fc.oneof(fc.constant('application/vnd.oci.image.layer.v1.tar+gzip'), fc.jsonValue()),
    digest: fc.oneof(fc.constant(`sha256:${'a'.repeat(64)}`), fc.string()),
    size: fc.oneof(fc.nat(), fc.jsonValue()),
  },
  { requiredKeys: [] },
);
const docs = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      schemaVersion: fc.oneof(fc.constant(2), fc.jsonValue()),
      mediaType: fc.string(),
      config: descriptor,
      layers: fc.array(descriptor, { maxLength: 3 }),
      manifests: fc.array(descriptor, { maxLength: 3 }),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      architecture: fc.string(),
      os: fc.oneof(fc.constant('linux'), fc.jsonValue()),
      config: fc.oneof(
        fc.constant(null),
        fc.record({ User: fc.jsonValue(), Env: fc.array(fc.string()), Cmd: fc.jsonValue() }, { requiredKeys: [] }),
      ),
      rootfs: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    { repositories: fc.oneof(fc.constant(null), fc.array(fc.string())), tags: fc.jsonValue(), name: fc.jsonValue() },
    { requiredKeys: [] },
  ),
  fc.array(
    fc.record(
      { Config: fc.string(), RepoTags: fc.oneof(fc.constant(null), fc.array(fc.string())), Layers: fc.array(fc.string()) },
      { requiredKeys: [] },
    ),
    { maxLength: 2 },
  ),
);

test('precompiled wire validators answer as ajv compiling the same schema at run time, errors included', () => {
  const ajv = runtimeAjv(WIRE_AJV_OPTIONS);
  const pairs = [...wireSchemas()].map(([name, schema]) => ({
    name,
    pre: precompiledFor(wireModule, name, schemaHash(schema)) as Fn,
    live: ajv.compile(schema) as Fn,
  }));
  fc.assert(
    fc.property(docs, (doc) => {
      for (const { name, pre, live } of pairs) assert.deepEqual(answer(pre, doc), answer(live, doc), name);
    }),
    { numRuns: 2000, seed: 11 },
  );
});

test('precompiled report and policy validators answer as ajv at run time, on real and damaged documents', () => {
  const texts = schemaTexts(REPORT_SCHEMAS);
  const ajv = runtimeAjv(REPORT_AJV_OPTIONS);
  const schemas = [...texts.values()].map((t) => JSON.parse(t) as { $id: string });
  for (const s of schemas) ajv.addSchema(s);
  const hash = schemaFilesHash(texts);
  const names = ['report', 'reportSet', 'scanDocument'];
  const pairs: Array<{ name: string; pre: Fn; live: Fn }> = names.map((name, i) => ({
    name,
    pre: precompiledFor(reportModule, name, hash) as Fn,
    live: ajv.getSchema(schemas[i]?.$id ?? '') as Fn,
  }));
  const policyText = readFileSync(POLICY_SCHEMA_URL, 'utf8');
  const auditText = readFileSync(AUDIT_SUMMARY_SCHEMA_URL, 'utf8');
  const auditSchema = JSON.parse(auditText) as { $id: string };
  const auditAjv = runtimeAjv(AUDIT_AJV_OPTIONS);
  auditAjv.addSchema(auditSchema);
  for (const [name, ref] of [
    ['summary', auditSchema.$id],
    ['image', `${auditSchema.$id}#/$defs/image`],
  ] as const) {
    pairs.push({
      name: `audit ${name}`,
      pre: precompiledFor(auditModule, name, schemaHash(auditText)) as Fn,
      live: auditAjv.getSchema(ref) as Fn,
    });
  }
  pairs.push({
    name: 'policy',
    pre: precompiledFor(policyModule, 'policy', schemaHash(policyText)) as Fn,
    live: runtimeAjv(POLICY_AJV_OPTIONS).compile(JSON.parse(policyText) as object) as Fn,
  });
  const layer = `sha256:${'b'.repeat(64)}`;
  const good = {
    'demo:1.0': [
      { Id: 'suid', Title: 'x', Severity: 'High', Pass: false, Description: 'd', Mitigation: 'm', Files: [{ [layer]: ['/usr/bin/sudo'] }] },
    ],
  };
  const path = fc.oneof(fc.constant('/usr/bin/sudo'), fc.string({ maxLength: 6 }));
  const result = fc.record(
    {
      Id: fc.oneof(fc.constant('suid'), fc.string({ maxLength: 6 })),
      Title: fc.string(),
      Severity: fc.constantFrom('Critical', 'High', 'Medium', 'Low', 'Informational', 'bad'),
      Pass: fc.oneof(fc.boolean(), fc.jsonValue()),
      Description: fc.string(),
      Mitigation: fc.string(),
      Files: fc.array(fc.dictionary(fc.constantFrom(layer, 'sha256:XY'), fc.array(path, { maxLength: 2 }), { maxKeys: 2 }), {
        maxLength: 2,
      }),
    },
    { requiredKeys: [] },
  );
  const policy = fc.record(
    {
      version: fc.oneof(fc.constant(1), fc.jsonValue()),
      accept: fc.array(
        fc.record({ check: fc.string(), image: fc.string(), reason: fc.string(), expires: fc.string() }, { requiredKeys: [] }),
        { maxLength: 2 },
      ),
      checks: fc.jsonValue(),
    },
    { requiredKeys: [] },
  );
  const reportish = fc.oneof(
    fc.jsonValue(),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.array(result, { maxLength: 3 }), { maxKeys: 2 }),
    policy,
  );
  fc.assert(
    fc.property(fc.oneof(fc.constant(good), fc.constant({ version: 1 }), reportish), (doc) => {
      for (const { name, pre, live } of pairs) assert.deepEqual(answer(pre, doc), answer(live, doc), name);
    }),
    { numRuns: 1500, seed: 12 },
  );
});

test('a set whose generated module is stale is compiled by ajv at run time, with the same answers', () => {
  const stale: SchemaFiles<'policy'> = { ...POLICY_SCHEMAS, precompiled: { ...policyModule, hashes: { policy: 'f'.repeat(64) } } };
  const live = lazyValidators(stale)();
  const pre = lazyValidators(POLICY_SCHEMAS)();
  assert.notEqual(live.policy, policyModule.policy);
  for (const doc of [{ version: 1 }, { version: 2 }, { version: 1, accept: [{ check: 'suid', image: '*' }] }, 'x'])
    assert.deepEqual(answer(live.policy, doc), answer(pre.policy, doc));
});

test("maxLength counts code points, through ajv's runtime helper the generated modules import", () => {
  const validate = policyModule.policy as (doc: unknown) => boolean;
  const policy = (reason: string): unknown => ({ version: 1, accept: [{ check: 'suid', paths: ['/usr/bin/su'], reason }] });
  // 1000 emoji are 2000 UTF-16 units but 1000 characters: within the reason's maxLength of 1000.
  assert.equal(validate(policy('\u{1F600}'.repeat(1000))), true);
  assert.equal(validate(policy('\u{1F600}'.repeat(1001))), false);
  assert.equal(validate(policy('a'.repeat(1001))), false);
});

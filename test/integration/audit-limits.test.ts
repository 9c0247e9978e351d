/**
 * The bounds on what an audit's listing holds in memory (docs/security.md "Limits"), on a real
 * registry (docker-registry) with four repositories of test/helpers/audit-mirror.ts (tags 1.0,
 * 1.1, latest): a catalog over the repository bound fails the listing (REGISTRY_ERROR, exit 20
 * for the CLI); a tag list over the tag bound is that repository's failure and the others are
 * planned; more planned references than the bound fail the listing. The bounds are lowered
 * here; their defaults are LISTING_LIMITS.
 */
import { after, before, test } from 'node:test';
import { strict as assert } from 'node:assert';
import { pino } from 'pino';
import { LISTING_LIMITS, planAudit, type AuditTarget, type ListingLimits, type Plan } from '../../src/audit/plan.js';
import { isOciScanError } from '../../src/errors.js';
import { openSession } from '../../src/registry/session.js';
import { mirrorRepository, pushMirror } from '../helpers/audit-mirror.js';
import { registrySkipReason, startRegistry, type RunningRegistry } from '../helpers/registry-server.js';
import { describeOrSkip } from '../helpers/skip.js';

const skip = registrySkipReason();

describeOrSkip('audit listing limits', { skip }, () => {
  let registry: RunningRegistry;
  before(async () => {
    registry = await startRegistry({ kind: 'none' });
    await pushMirror(registry.url, 4, 4);
  });
  after(async () => {
    await registry?.stop();
  });

  const plan = async (limits: Partial<ListingLimits>): Promise<Plan> => {
    const logger = pino({ level: 'silent' });
    const session = openSession({ registry: { insecureRegistries: [registry.host], mirrors: {}, env: {} }, logger });
    const target: AuditTarget = { kind: 'registry', registry: registry.host, prefix: 'mirror' };
    try {
      return await planAudit(
        target,
        { include: [], exclude: [] },
        { session, describe: (err) => ({ code: 'X', message: String(err) }), limits: { ...LISTING_LIMITS, ...limits } },
      );
    } finally {
      await session.close();
    }
  };

  test('within the bounds: every repository and tag planned', async () => {
    const p = await plan({ repositories: 4, tags: 3, references: 12 });
    assert.equal(p.refs.length, 12);
    assert.deepEqual(p.failures, []);
  });

  test('a catalog with more repositories than the bound fails the listing', async () => {
    await assert.rejects(
      plan({ repositories: 3 }),
      (e: unknown) => isOciScanError(e, 'REGISTRY_ERROR') && /lists more than 3 repositories under mirror/.test(e.message),
    );
  });

  test("a tag list longer than the bound is that repository's failure; the others are planned", async () => {
    const p = await plan({ tags: 2 });
    assert.equal(p.refs.length, 0);
    assert.deepEqual(
      p.failures.map((f) => f.repository).sort(),
      [0, 1, 2, 3].map((n) => `${registry.host}/${mirrorRepository(n)}`),
    );
    assert.match(p.failures[0]?.error.message ?? '', /lists more than 2 tags/);
  });

  test('more planned references than the bound fail the listing', async () => {
    await assert.rejects(
      plan({ references: 11 }),
      (e: unknown) => isOciScanError(e, 'REGISTRY_ERROR') && /would cover more than 11 references/.test(e.message),
    );
  });
});

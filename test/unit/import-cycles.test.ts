/**
 * scripts/import-cycles.js, the lint step that fails on an import loop in src/: it catches a
 * loop closed by type-only imports (as the one src/sources/ once had), passes a tree without
 * one, and finds none in src/ itself.
 */
import { describe, it } from 'node:test';
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/scan.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/import-cycles.js');

/** Writes `files` (path → text) under a temporary folder and runs the checker on it. */
async function check(files: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const { dir, cleanup } = await tempDir();
  try {
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, 'src', path)), { recursive: true });
      await writeFile(join(dir, 'src', path), text);
    }
    return await run([join(dir, 'src')], dir);
  } finally {
    await cleanup();
  }
}

async function run(args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await promisify(execFile)(process.execPath, [SCRIPT, ...args], { cwd });
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

describe('import-cycles', () => {
  it('fails on two modules that import each other, type-only imports included', async () => {
    const r = await check({
      'store.ts': "import type { Passed } from './member.js';\nexport interface Store { passed?: Passed }\n",
      'member.ts': "import type { Store } from './store.js';\nexport interface Passed { store: Store }\n",
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /import cycle: src\/(member|store)\.ts → src\/(store|member)\.ts → src\/\1\.ts/);
  });

  it('fails on a longer loop through an index and a re-export', async () => {
    const r = await check({
      'a.ts': "export { b } from './b/index.js';\nexport const a = 1;\n",
      'b/index.ts': "import { c } from '../c.js';\nexport const b = c;\n",
      'c.ts': "export const c = 2;\nexport async function late(): Promise<number> {\n  return (await import('./a.js')).a;\n}\n",
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /import cycle: .*src\/a\.ts/);
  });

  it('passes imports that point one way only', async () => {
    const r = await check({
      'top.ts': "import type { Mid } from './mid.js';\nimport { low } from './low/index.js';\nexport const top: Mid = { n: low };\n",
      'mid.ts': "import { low } from './low/index.js';\nexport interface Mid { n: typeof low }\n",
      'low/index.ts': "import { readFileSync } from 'node:fs';\nexport const low = typeof readFileSync;\n",
    });
    assert.deepEqual(r, { code: 0, stderr: '' });
  });

  it('finds no loop in src/', async () => {
    assert.deepEqual(await run(['src'], ROOT), { code: 0, stderr: '' });
  });
});

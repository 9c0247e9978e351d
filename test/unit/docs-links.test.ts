/**
 * The links of README.md and docs/*.md resolve: every relative link names a file of the
 * repository, and every `#anchor` into a Markdown file names one of its headings (GitHub's
 * anchors: lower case, punctuation dropped, spaces as `-`, `-1`, `-2` for repeats). The README
 * is a front page that points into docs/, and the npm package ships both, so a section that
 * moves must take its links along.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A Markdown text without its fenced code blocks (a `#` line there is not a heading). */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** A Markdown text without its code, fenced or inline (a link written there is not a link). */
function text(markdown: string): string {
  return prose(markdown).replace(/`[^`]*`/g, '');
}

/** The anchors GitHub gives the headings of a Markdown text, in order. */
function anchors(markdown: string): string[] {
  const seen = new Map<string, number>();
  return [...prose(markdown).matchAll(/^#{1,6}\s+(.*)$/gm)].map((m) => {
    const slug = (m[1] ?? '').trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    return n === 0 ? slug : `${slug}-${n}`;
  });
}

/** The relative link targets of a Markdown text (`[text](target)`), outside code blocks. */
function links(markdown: string): string[] {
  return [...text(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '').filter((t) => !/^[a-z]+:/i.test(t));
}

/** The broken links of `file` (relative to ROOT), as `file: target (why)`. */
async function brokenLinks(file: string): Promise<string[]> {
  const broken: string[] = [];
  for (const target of links(await readFile(join(ROOT, file), 'utf8'))) {
    const [path = '', hash] = target.split('#');
    const resolved = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), path);
    if (!existsSync(resolved)) broken.push(`${file}: ${target} (no file ${relative(ROOT, resolved)})`);
    else if (hash !== undefined && resolved.endsWith('.md') && !anchors(await readFile(resolved, 'utf8')).includes(hash)) broken.push(`${file}: ${target} (no such heading)`);
  }
  return broken;
}

describe('the links of README.md and docs/', () => {
  it('the anchor and link finders read Markdown as GitHub does', () => {
    assert.deepEqual(anchors('# Errors and exit codes\n## Exit codes\n```sh\n# not a heading\n```\n### The `--json-stdout` object\n## 9–15. sudo, su\n## Exit codes'), [
      'errors-and-exit-codes',
      'exit-codes',
      'the---json-stdout-object',
      '915-sudo-su',
      'exit-codes-1',
    ]);
    assert.deepEqual(links('[a](docs/ci.md#policy), [b](https://x.test/y), `[c](no.md)`\n```\n[d](code.md)\n```\n[e](../schemas/x.json)'), ['docs/ci.md#policy', '../schemas/x.json']);
  });

  it('resolve: every relative link names a file, every #anchor a heading of it', async () => {
    const files = ['README.md', ...(await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const broken = (await Promise.all(files.map(brokenLinks))).flat();
    assert.deepEqual(broken, []);
  });
});

/**
 * The links of README.md and docs/*.md resolve: every relative link names a file of the
 * repository, and every `#anchor` into a Markdown file names one of its headings (GitHub's
 * anchors: lower case, punctuation dropped, spaces as `-`, `-1`, `-2` for repeats). The README
 * is a front page that points into docs/, and the npm package ships both, so a section that
 * moves must take its links along. The code cites the docs the same way, as `docs/x.md "Section"`:
 * each quoted section must be a heading of that file (or the bold or first words of one of its
 * paragraphs or table rows), so a citation cannot outlive the section it names.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
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
    const slug = (m[1] ?? '')
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
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
    else if (hash !== undefined && resolved.endsWith('.md') && !anchors(await readFile(resolved, 'utf8')).includes(hash))
      broken.push(`${file}: ${target} (no such heading)`);
  }
  return broken;
}

describe('the links of README.md and docs/', () => {
  it('the anchor and link finders read Markdown as GitHub does', () => {
    assert.deepEqual(
      anchors(
        '# Errors and exit codes\n## Exit codes\n```sh\n# not a heading\n```\n### The `--json-stdout` object\n## 9–15. sudo, su\n## Exit codes',
      ),
      ['errors-and-exit-codes', 'exit-codes', 'the---json-stdout-object', '915-sudo-su', 'exit-codes-1'],
    );
    assert.deepEqual(links('[a](docs/ci.md#policy), [b](https://x.test/y), `[c](no.md)`\n```\n[d](code.md)\n```\n[e](../schemas/x.json)'), [
      'docs/ci.md#policy',
      '../schemas/x.json',
    ]);
  });

  it('resolve: every relative link names a file, every #anchor a heading of it', async () => {
    const files = ['README.md', ...(await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const broken = (await Promise.all(files.map(brokenLinks))).flat();
    assert.deepEqual(broken, []);
  });
});

/** The `docs/x.md "Section"` citations of a source text (`docs/x.md, "A", "B"` cites two). */
function citations(source: string): Array<{ doc: string; section: string }> {
  const out: Array<{ doc: string; section: string }> = [];
  for (const m of source.matchAll(/\b(docs\/[\w.-]+\.md|README\.md),?\s*((?:"[^"\n]+"(?:\s*(?:,|and|\/)\s*)?)+)/g)) {
    for (const q of (m[2] ?? '').matchAll(/"([^"\n]+)"/g)) out.push({ doc: m[1] ?? '', section: q[1] ?? '' });
  }
  return out;
}

/** Whether `section` names a place in `markdown`: a heading holding it, or a paragraph, list item or table row led by it. */
function namesPlace(markdown: string, section: string): boolean {
  const want = section.toLowerCase().replace(/`/g, '');
  const plain = prose(markdown).replace(/`/g, '').toLowerCase();
  if ([...plain.matchAll(/^#{1,6}\s+(.*)$/gm)].some((h) => (h[1] ?? '').includes(want))) return true;
  // The first line of each paragraph (a heading ends one), and each list item and table row.
  const leads = plain
    .split(/\n\s*\n/)
    .flatMap((para) =>
      para.split('\n').filter((line, i, lines) => i === 0 || /^#/.test(lines[i - 1] ?? '') || /^\s*([-*|]|\d+\.)\s/.test(line)),
    );
  return leads.some((line) => line.replace(/^[\s|>*-]*(\d+\.\s*)?(\*\*)?/, '').startsWith(want));
}

describe('the code cites sections that exist', () => {
  it('the citation finder reads one or several quoted sections', () => {
    assert.deepEqual(citations('see docs/audit.md, "Output", "Resuming") and docs/ci.md "Policy".'), [
      { doc: 'docs/audit.md', section: 'Output' },
      { doc: 'docs/audit.md', section: 'Resuming' },
      { doc: 'docs/ci.md', section: 'Policy' },
    ]);
    assert.equal(namesPlace('# A\n## The `x` cache\n| **Leaked credentials** | y |\nHow files are seen: z', 'The x cache'), true);
    assert.equal(namesPlace('# A\n| **Leaked credentials** | y |', 'Leaked credentials'), true);
    assert.equal(namesPlace('# A\nHow files are seen: z', 'How files are seen'), true);
    assert.equal(namesPlace('# A\nthe rate is low', 'Rate'), false);
    assert.equal(namesPlace('# A\nA line that wraps, and the next line\nrate starts here', 'Rate'), false);
  });

  it('every docs/x.md "Section" in src/, test/, bench/, scripts/ and docs/ names a section of x.md', async () => {
    const tracked = execFileSync('git', ['ls-files', 'src', 'test', 'bench', 'scripts', 'docs', 'ci', 'examples', 'eslint.config.js'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter(
        (f) =>
          f !== '' &&
          !f.endsWith('.generated.ts') &&
          f !== 'test/unit/docs-links.test.ts' &&
          existsSync(join(ROOT, f)) &&
          /\.(ts|js|mjs|md|yml|yaml|sh)$/.test(f),
      );
    const broken: string[] = [];
    for (const file of tracked) {
      const source = await readFile(join(ROOT, file), 'utf8');
      for (const { doc, section } of citations(source)) {
        const path = join(ROOT, doc);
        if (!existsSync(path)) broken.push(`${file}: ${doc} (no such file)`);
        else if (!namesPlace(await readFile(path, 'utf8'), section)) broken.push(`${file}: ${doc} "${section}" (no such section)`);
      }
    }
    assert.deepEqual(broken, []);
  });
});

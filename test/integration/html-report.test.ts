/**
 * The HTML reports (src/report/formats/html.ts, src/audit/html.ts; docs/reports.md "HTML") in a
 * real browser: Debian's `chromium`, driven by `puppeteer-core` (nothing downloaded). Over a
 * scan report written by the CLI (`--format html=FILE`) and an audit report of a generated
 * summary of 5,000 images, it checks: no console error and no network request; the filter and
 * the sort work; a hostile image's names (markup, quotes, bidi overrides) render as text and no
 * script of theirs runs (the `window` flag a payload would set stays unset); the page works
 * with JavaScript off. Screenshots go to test-output/html/ (gitignored).
 *
 * Provenance: the scanned images are built by test/helpers/image-builder.ts into OCI layouts
 * here — one ordinary, one whose file names, history and reference carry the payloads; the
 * audit summary is built with src/audit/summary.ts from generated entries.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { auditHtml } from '../../src/audit/html.js';
import { buildSummary, type SummaryImage } from '../../src/audit/summary.js';
import type { Severity } from '../../src/checks/types.js';
import { buildImage, writeOciLayout } from '../helpers/image-builder.js';
import { runCli, tempDir, isolatedCacheEnv } from '../helpers/scan.js';
import { describeOrSkip } from '../helpers/skip.js';
import { haveTool } from '../helpers/tools.js';

const CHROMIUM = process.env['OCI_SCAN_CHROMIUM'] ?? '/usr/bin/chromium';
const OUT = join(process.cwd(), 'test-output', 'html');

function chromiumSkip(): string | false {
  if (haveTool(CHROMIUM)) return false;
  const why = `${CHROMIUM} not available (apt-get install --no-install-recommends chromium)`;
  if (process.env['OCI_SCAN_REQUIRE_TOOLS'] === '1') return false;
  console.error(`!!! HTML report browser tests SKIPPED: ${why}`);
  return why;
}

/** Payloads: each would set window.__pwned if it ran. */
const SCRIPT_TAG = '<script>window.__pwned=1</script>';
const IMG_TAG = '"><img src=x onerror="window.__pwned=2">';
const BIDI = 'evil\u202etxt.exe';

/** A DOM element's `hidden` (the tests compile without the DOM library). */
interface Hideable {
  readonly hidden: boolean;
}

/** What a page did while loaded: console errors, page errors, requests other than the page itself. */
interface Watch {
  readonly errors: string[];
  readonly requests: string[];
}

async function open(browser: Browser, file: string, javascript = true): Promise<{ page: Page; watch: Watch; loadMs: number }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  await page.setJavaScriptEnabled(javascript);
  const url = pathToFileURL(file).href;
  const watch: Watch = { errors: [], requests: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') watch.errors.push(m.text());
  });
  page.on('pageerror', (e) => watch.errors.push(String(e)));
  page.on('request', (r) => {
    if (r.url() !== url) watch.requests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  const loadMs = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation' as never)[0] as unknown as
      { loadEventEnd: number; startTime: number } | undefined;
    return nav ? nav.loadEventEnd - nav.startTime : -1;
  });
  return { page, watch, loadMs };
}

/** The visible rows' first cells of the first table matching `selector`. */
function visibleFirstCells(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(`${selector} > tbody > tr`, (rows) =>
    rows.filter((r) => !(r as unknown as Hideable).hidden).map((r) => (r.children[0]?.textContent ?? '').trim()),
  );
}

/** Types `text` into the filter box at once (one input event, as a paste gives). */
async function filterFor(page: Page, text: string): Promise<void> {
  await page.$eval(
    '#filter',
    (el, value) => {
      const box = el as unknown as { value: string; dispatchEvent(e: unknown): void };
      box.value = value;
      box.dispatchEvent(new Event('input'));
    },
    text,
  );
}

/** A generated audit summary: `count` images over count/10 repositories, severities cycling, one hostile repository, some errors. */
function generatedSummary(count: number): ReturnType<typeof buildSummary> {
  const severities: Severity[] = ['Critical', 'High', 'Medium', 'Low', 'Informational'];
  const checks = ['suid', 'sudo', 'compilers', 'default-user', 'labels', 'layer-count'];
  const images: SummaryImage[] = Array.from({ length: count }, (_, i) => {
    const repo =
      i === 7 ? `registry.local/${SCRIPT_TAG}${IMG_TAG}${BIDI}` : `registry.local/team-${i % Math.max(1, Math.floor(count / 10))}/app`;
    const tag = `1.${i}`;
    const failed = i % 997 === 0 ? { code: 'IMAGE_NOT_FOUND', message: `manifest unknown ${SCRIPT_TAG}` } : undefined;
    const highest = failed ? null : (severities[i % 5] ?? 'Low');
    return {
      reference: `${repo}:${tag}`,
      repository: repo,
      tag,
      digest: failed ? null : `sha256:${(i % 4096).toString(16).padStart(64, '0')}`,
      platform: failed ? null : 'linux/amd64',
      highest,
      failedChecks: highest === null || highest === 'Informational' ? [] : checks.slice(0, 1 + (i % checks.length)),
      layers: [`sha256:${'a'.repeat(64)}`, `sha256:${(i % 97).toString(16).padStart(64, '0')}`],
      report: failed ? null : `app_${tag}-compliance.json`,
      ...(failed ? { error: failed } : {}),
    };
  });
  return buildSummary(
    {
      tool: { name: 'oci-scan', version: '0.1.0' },
      source: 'registry.local',
      shard: null,
      complete: true,
      pending: 0,
      run: { scanned: count - 120, resumed: 120 },
    },
    images,
  );
}

describeOrSkip('the HTML reports in Chromium', { skip: chromiumSkip() }, () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let browser: Browser | undefined;
  let scanFile = '';
  let auditFile = '';

  before(async () => {
    ({ dir, cleanup } = await tempDir('oci-scan-html-'));
    await mkdir(OUT, { recursive: true });
    const plain = buildImage({
      config: { User: 'app:app', Cmd: ['/app'] },
      layers: [
        { entries: [{ type: 'file', path: 'usr/bin/su', mode: 0o4755, content: 'su' }] },
        { entries: [{ type: 'file', path: 'usr/bin/gcc', mode: 0o755, content: 'gcc' }] },
      ],
    });
    const hostile = buildImage({
      config: { Labels: { [SCRIPT_TAG]: IMG_TAG } },
      history: [{ created_by: `/bin/sh -c #(nop) ADD ${SCRIPT_TAG} in /` }, { created_by: `/bin/sh -c echo ${IMG_TAG} ${BIDI}` }],
      layers: [
        { entries: [{ type: 'file', path: `usr/bin/${SCRIPT_TAG}`, mode: 0o4755, content: 'x' }] },
        {
          entries: [
            { type: 'file', path: `opt/${IMG_TAG}`, mode: 0o4755, content: 'y' },
            { type: 'file', path: `opt/${BIDI}`, mode: 0o4755, content: 'z' },
          ],
        },
      ],
    });
    const layout = join(dir, 'layout');
    await writeOciLayout(layout, [
      { image: plain, tag: 'worker' },
      { image: hostile, tag: 'evil' },
    ]);
    scanFile = join(dir, 'scan.html');
    const { code, stderr } = await runCli(
      [
        `oci:${layout}:worker`,
        `oci:${layout}:evil`,
        `oci:${join(dir, 'missing')}:1`,
        '--format',
        `html=${scanFile}`,
        '--base',
        `oci:${layout}:worker`,
      ],
      { env: isolatedCacheEnv() },
    );
    assert.equal(code, 20, stderr);
    auditFile = join(dir, 'audit.html');
    const pages = auditHtml(generatedSummary(5000)).join('');
    await writeFile(auditFile, pages);
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-gpu', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    await cleanup();
  });

  it('the scan report: no error, no request; summary, matrix and each path with its layer, step and origin', async () => {
    assert.ok(browser);
    const { page, watch } = await open(browser, scanFile);
    assert.deepEqual(watch, { errors: [], requests: [] });
    const images = await visibleFirstCells(page, '#images');
    assert.equal(images.length, 3);
    assert.match(images[0] ?? '', /:worker \[linux\/amd64\]$/);
    assert.match(images[2] ?? '', /missing/, 'an IMAGE that could not be scanned is listed');
    const matrix = await page.$$eval('table.matrix > thead th', (ths) => ths.map((t) => t.textContent));
    assert.ok(matrix.includes('suid') && matrix.includes('os-type'));
    const worker = await page.$eval('#image-1', (s) => s.textContent ?? '');
    assert.match(worker, /\/usr\/bin\/su/);
    assert.match(worker, /inherited/, 'the worker is its own base: every layer inherited');
    assert.match(await page.$eval('#image-2', (s) => s.textContent ?? ''), /base not-prefix/, 'the evil image is not built on the worker');
    assert.match(worker, /no OS information/, 'an image without OS information is flagged');
    await page.screenshot({ path: join(OUT, 'scan.png') });
    await page.close();
  });

  it('filter and sort work', async () => {
    assert.ok(browser);
    const { page } = await open(browser, scanFile);
    assert.equal(await page.$eval('#tools', (t) => (t as unknown as Hideable).hidden), false);
    await filterFor(page, 'worker');
    assert.deepEqual(
      (await visibleFirstCells(page, '#images')).map((c) => c.replace(/^.*:/, '')),
      ['worker [linux/amd64]'],
    );
    assert.equal(await page.$eval('#image-2', (s) => (s as unknown as Hideable).hidden), true, "the other image's section is hidden");
    await filterFor(page, 'usr/bin/gcc');
    assert.deepEqual(
      await page.$$eval('section[data-item]', (ss) => ss.map((x) => (x as unknown as Hideable).hidden)),
      [false, true],
      'a path keeps the section that holds it',
    );
    await filterFor(page, '');
    await page.click('#images th:nth-child(1)');
    await page.click('#images th:nth-child(1)');
    const descending = await visibleFirstCells(page, '#images');
    assert.deepEqual(
      descending,
      [...descending].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? 1 : -1)),
    );
    await page.click('#images th:nth-child(2)');
    const bySeverity = await page.$$eval('#images > tbody > tr > td:nth-child(2)', (tds) =>
      tds.map((t) => Number(t.getAttribute('data-key'))),
    );
    assert.deepEqual(
      bySeverity,
      [...bySeverity].sort((a, b) => a - b),
    );
    await page.close();
  });

  it("a hostile image's names render as text and run nothing", async () => {
    assert.ok(browser);
    const source = await readFile(scanFile, 'utf8');
    assert.ok(
      !source.includes(SCRIPT_TAG) && !source.includes(IMG_TAG) && !source.includes('\u202e'),
      'no payload reaches the file unescaped',
    );
    const { page, watch } = await open(browser, scanFile);
    assert.deepEqual(watch, { errors: [], requests: [] });
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);
    const text = await page.$eval('#image-2', (s) => s.textContent ?? '');
    assert.ok(text.includes(`/usr/bin/${SCRIPT_TAG}`) && text.includes(`/opt/${IMG_TAG}`), 'shown as text');
    assert.ok(text.includes('evil\\u202etxt.exe'), 'the bidi override is shown as an escape');
    assert.equal(await page.$$eval('img', (imgs) => imgs.length), 0);
    assert.equal(await page.$$eval('script', (s) => s.length), 1, "only the report's own script");
    await page.$eval('#image-2', (section) => (section as unknown as { scrollIntoView(): void }).scrollIntoView());
    await page.screenshot({ path: join(OUT, 'scan-hostile.png') });
    await page.close();
  });

  it('works with JavaScript off: plain tables, the tools bar stays hidden', async () => {
    assert.ok(browser);
    const { page, watch } = await open(browser, scanFile, false);
    assert.deepEqual(watch, { errors: [], requests: [] });
    assert.equal(
      await page.$eval(
        '#tools',
        (t) => (globalThis as unknown as { getComputedStyle(e: unknown): { display: string } }).getComputedStyle(t).display,
      ),
      'none',
    );
    assert.equal((await visibleFirstCells(page, '#images')).length, 3);
    assert.ok((await page.$$('details[open]')).length > 0, 'failed checks are open without a script');
    await page.close();
    const audit = await open(browser, auditFile, false);
    assert.deepEqual(audit.watch, { errors: [], requests: [] });
    assert.equal(await audit.page.$$eval('details[id^="repo-"]', (d) => d.length), 501);
    await audit.page.close();
  });

  it("oci-scan audit --format html=FILE writes the summary's report", async () => {
    assert.ok(browser);
    const reports = join(dir, 'audit-reports');
    await mkdir(reports);
    const file = join(dir, 'layout-audit.html');
    const { code, stderr } = await runCli(
      ['audit', `oci:${join(dir, 'layout')}`, '--reports-dir', reports, '--format', `html=${file}`, '-q'],
      { env: isolatedCacheEnv() },
    );
    assert.equal(code, 12, stderr);
    const { page, watch } = await open(browser, file);
    assert.deepEqual(watch, { errors: [], requests: [] });
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);
    const rows = await visibleFirstCells(page, '#images');
    assert.equal(rows.length, 2);
    assert.equal(await page.$eval('#all-images', (d) => (d as unknown as { open: boolean }).open), true, 'a small audit opens its images');
    await page.close();
  });

  it('the audit report of 5,000 images: overview first, repositories worst first linking to their images; size and load time', async () => {
    assert.ok(browser);
    const size = (await stat(auditFile)).size;
    const { page, watch, loadMs } = await open(browser, auditFile);
    console.error(
      `# audit report of 5,000 images: ${(size / 1024 / 1024).toFixed(2)} MiB, loaded in ${Math.round(loadMs)} ms (not asserted)`,
    );
    assert.ok(size < 8 * 1024 * 1024, `${size} bytes`);
    assert.deepEqual(watch, { errors: [], requests: [] });
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);
    const headings = await page.$$eval('h2', (hs) => hs.map((h) => h.textContent ?? ''));
    assert.deepEqual(
      headings.map((h) => h.replace(/ \(.*$|,.*$/, '')),
      ['Overview', 'Repositories', 'Images'],
    );
    const worst = await visibleFirstCells(page, 'h3 + table.sortable:not([data-filter]) ~ table');
    assert.ok(worst.length > 0);
    const firstRepo = await page.$eval('details[id="repo-1"] > summary', (s) => s.textContent ?? '');
    assert.match(firstRepo, /not scanned/, 'a repository with an image that could not be scanned comes first');
    const link = await page.$eval('details[id="repo-1"] a', (a) => a.getAttribute('href') ?? '');
    assert.match(link, /^#image-\d+$/);
    assert.equal(await page.$$eval(link, (els) => els.length), 1, 'the tag links to its image section');
    assert.equal(await page.$eval('#all-images', (d) => (d as unknown as { open: boolean }).open), false, '5,000 rows start closed');
    await page.$eval('details[id="repo-1"]', (d) => ((d as unknown as { open: boolean }).open = true));
    await page.click('details[id="repo-1"] a');
    assert.equal(
      await page.$eval('#all-images', (d) => (d as unknown as { open: boolean }).open),
      true,
      "following a tag's link opens the images to its row",
    );
    assert.ok((await page.content()).includes('registry.local/&lt;script&gt;'), 'the hostile repository is text');
    await filterFor(page, 'team-3/');
    const shown = await page.$$eval('details[data-item]', (ds) =>
      ds.filter((d) => !(d as unknown as Hideable).hidden).map((d) => d.getAttribute('data-item') ?? ''),
    );
    assert.ok(shown.length > 0 && shown.every((s) => s.includes('team-3/')));
    const rows = await visibleFirstCells(page, '#images');
    assert.equal(rows.length, 10, 'the images of team-3 (one in 500 repositories of ten)');
    assert.ok(rows.every((r) => r.includes('team-3/')));
    await filterFor(page, '');
    await page.click('#all-images > summary');
    await page.$eval('#images th:nth-child(3)', (th) => (th as unknown as { click(): void }).click());
    const order = await page.$$eval('#images > tbody > tr > td:nth-child(3)', (tds) => tds.map((t) => Number(t.getAttribute('data-key'))));
    assert.equal(order.length, 5000);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      'images sorted by highest severity',
    );
    await page.$eval('#all-images', (d) => ((d as unknown as { open: boolean }).open = false));
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await page.screenshot({ path: join(OUT, 'audit.png') });
    await page.close();
  });
});

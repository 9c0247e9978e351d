#!/usr/bin/env node
/* global process, console */
/**
 * Fails (exit 1) when the TypeScript modules under a folder import each other in a loop, and
 * names each loop: `npm run lint` runs it on src/ (docs/architecture.md: imports point down
 * only, so no module is above itself). Every relative import counts — `import type` and
 * `export … from` too, and `import()` — since a loop of type-only imports still ties the
 * modules' design together. Plain JavaScript, so that lint needs no build.
 *
 *   node scripts/import-cycles.js [folder…]   (default: src)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The .ts files under `dir` (declaration files left out). */
function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The module a relative specifier names (`./x.js` → `x.ts`, `./x` → `x.ts` or `x/index.ts`), if it is one of `known`. */
function resolveSpecifier(from, specifier, known) {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  const candidates = [base.replace(/\.(m|c)?js$/, '.$1ts'), base, `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => known.has(c));
}

/** Module → the modules it imports (relative imports only, in source order). */
export function importGraph(files) {
  const known = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles.map((f) => resolveSpecifier(file, f.fileName, known)).filter((t) => t !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/**
 * The loops of `graph`: per strongly connected component that has one, a shortest loop and
 * the component's other modules (Tarjan's algorithm).
 */
export function findCycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = new Set();
    for (let w; w !== v;) {
      w = stack.pop();
      onStack.delete(w);
      component.add(w);
    }
    if (component.size > 1 || (graph.get(v) ?? []).includes(v)) {
      const loop = loopThrough(v, component, graph);
      cycles.push({ loop, others: [...component].filter((m) => !loop.includes(m)).sort() });
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** One loop from `start` back to it inside `component` (breadth first: a shortest one). */
function loopThrough(start, component, graph) {
  const previous = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0]));
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const folders = process.argv.length > 2 ? process.argv.slice(2) : ['src'];
  const cycles = findCycles(importGraph(folders.flatMap((f) => sources(resolve(f)))));
  const shown = (f) => relative(process.cwd(), f);
  for (const { loop, others } of cycles) {
    const also = others.length > 0 ? ` (tied in too: ${others.map(shown).join(', ')})` : '';
    console.error(`import cycle: ${loop.map(shown).join(' → ')}${also}`);
  }
  if (cycles.length > 0) {
    console.error(
      `${cycles.length} import cycle(s): imports point down only (docs/architecture.md); move what both sides need to a module below them`,
    );
    process.exitCode = 1;
  }
}

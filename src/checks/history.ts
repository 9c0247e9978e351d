/**
 * The config's `history` as the extended checks read it (docs/checks.md, "Extended checks"):
 * each entry's `created_by` split into the Dockerfile instruction that made it and its
 * arguments, whichever builder wrote it —
 * - Docker's classic builder and buildah: `/bin/sh -c #(nop)  ENV K=v`, `/bin/sh -c #(nop) ADD
 *   file:<sha256> in /dest `, and for RUN the shell command itself (`/bin/sh -c apt-get update`),
 *   prefixed with `|N K=v …` when N build arguments were set;
 * - BuildKit: `ENV K=v`, `ADD src /dest # buildkit`, `RUN /bin/sh -c apt-get update # buildkit`,
 *   `RUN |1 K=v /bin/sh -c …`;
 * - kaniko and others: the Dockerfile line (`RUN apt-get update`).
 * Entries that are not `empty_layer` made the image's layers, in order.
 */
import type { ImageConfig } from '../image/config.js';
import type { CheckInput } from './types.js';

/** One history entry, parsed. */
export interface HistoryStep {
  /** Index in the config's `history` (0-based, as `docker history` lists them from the bottom). */
  readonly index: number;
  /** Digest of the layer the entry made, when it made one and the layers line up with the history. */
  readonly layer?: string;
  /** `RUN`, `ADD`, `ENV`, … (upper case); undefined when the text names no instruction. */
  readonly instruction?: string;
  /** What follows the instruction: for RUN the shell command, without the shell and the build arguments. */
  readonly args: string;
  /** `K=v` build arguments a RUN was given (`|N K=v …`). */
  readonly buildArgs: readonly string[];
  /** The whole `created_by`. */
  readonly raw: string;
  /** The entry made no layer (`empty_layer`). */
  readonly emptyLayer: boolean;
}

/** Instructions a Dockerfile may hold: a `created_by` starting with one of these (and a space) names it. */
const INSTRUCTIONS = new Set([
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
]);

/** `/bin/sh -c `, `/bin/bash -o pipefail -c `, `sh -c `: the shell a RUN went through. */
const SHELL = /^(?:\/[\w/.-]*\/)?(?:sh|bash|ash|dash|zsh|ksh)(?:\s+-[a-zA-Z]+(?:\s+pipefail)?)*\s+-c\s+/;

/** `|2 A=1 B=2 rest` → the N build arguments and the rest (values hold no space: Docker writes them unquoted). */
function splitBuildArgs(text: string): { buildArgs: string[]; rest: string } {
  const m = /^\|(\d+)\s+/.exec(text);
  if (!m) return { buildArgs: [], rest: text };
  const count = Number(m[1]);
  const words = text.slice(m[0].length).split(/\s+/);
  const buildArgs: string[] = [];
  while (buildArgs.length < count && words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] ?? ''))
    buildArgs.push(words.shift() ?? '');
  return { buildArgs, rest: words.join(' ') };
}

/** The shell command of a RUN: build arguments and the shell removed. */
function runCommand(text: string): { buildArgs: string[]; command: string } {
  const { buildArgs, rest } = splitBuildArgs(text.trim());
  return { buildArgs, command: rest.replace(SHELL, '').trim() };
}

/** Parses one `created_by` (see the module comment). */
export function parseCreatedBy(createdBy: string): Pick<HistoryStep, 'instruction' | 'args' | 'buildArgs'> {
  let text = createdBy.trim().replace(/\s+# buildkit$/, '');
  const { buildArgs, rest } = splitBuildArgs(text);
  text = rest;
  const shell = SHELL.exec(text);
  if (shell) {
    const body = text.slice(shell[0].length).trim();
    const nop = /^#\(nop\)\s*/.exec(body);
    if (!nop) return { instruction: 'RUN', args: body, buildArgs };
    text = body.slice(nop[0].length);
  }
  const m = /^([A-Za-z]+)(?:\s+|$)/.exec(text);
  const word = m?.[1]?.toUpperCase();
  if (!m || word === undefined || !INSTRUCTIONS.has(word)) return { args: text, buildArgs };
  const args = text.slice(m[0].length).trim();
  if (word === 'RUN') {
    const run = runCommand(args);
    return { instruction: 'RUN', args: run.command, buildArgs: [...buildArgs, ...run.buildArgs] };
  }
  return { instruction: word, args, buildArgs };
}

/** The config's history, parsed, each entry with the layer it made when the layers line up (`layers`: digests in image order). */
export function historySteps(config: ImageConfig, layers: readonly string[]): HistoryStep[] {
  const history = config.history ?? [];
  // Only when the history's non-empty entries are exactly the layers can an entry name its layer.
  const aligned = history.filter((h) => h.empty_layer !== true).length === layers.length;
  let next = 0;
  return history.map((h, index) => {
    const layer = h.empty_layer === true ? undefined : layers[next++];
    return {
      index,
      ...(aligned && layer !== undefined ? { layer } : {}),
      ...parseCreatedBy(h.created_by ?? ''),
      raw: h.created_by ?? '',
      emptyLayer: h.empty_layer === true,
    };
  });
}

/** The history of a check's input (layer digests: the config's, i.e. every layer, scanned or not). */
export function inputHistory(input: Pick<CheckInput, 'config' | 'layers' | 'notScanned'>): HistoryStep[] {
  // The layers in image order are the scanned ones and those not scanned; the input keeps them
  // apart, so line the history up only when every layer was scanned.
  return historySteps(input.config, input.notScanned.length === 0 ? input.layers.map((l) => l.digest) : []);
}

/** `history entry 3 (RUN, layer sha256:…)`: where a finding is, for descriptions. */
export function stepPlace(step: HistoryStep): string {
  const what = [step.instruction, step.layer !== undefined ? `layer ${step.layer}` : undefined].filter((w) => w !== undefined);
  return `history entry ${step.index}${what.length > 0 ? ` (${what.join(', ')})` : ''}`;
}

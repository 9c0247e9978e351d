/**
 * Images whose final filesystem is costly to build or to follow, for
 * test/integration/cpu-bound.test.ts (docs/security.md: every phase yields and stops within the
 * grace after --timeout or a signal).
 *
 * Provenance: tars written by image-builder's ustar writer (PAX records for the long link
 * targets), gzip, in an OCI layout written by image-builder. The first layer holds a chain of
 * 39 symlinks (with the link into it, Linux's limit of 40), each with a target of about 4000 bytes that walks `d/..` back
 * and forth before naming the next link, ending at a directory with an executable in it; the
 * next `linkLayers` layers each hold 1000 PATH symlinks named like compilers (`gcc-N`) into the
 * chain: without memoised link resolution, each of them walks the whole chain (39 × ~1600
 * path components). `writesThrough` adds a second chain and a last layer that writes that many
 * files through it, each after replacing a symlink elsewhere (so that no resolution can be kept
 * from one write to the next): work that stays long, for the timeout and signal tests.
 */
import { buildImage, writeOciLayout, type BuiltImage, type EntrySpec } from './image-builder.js';

/** How many times a chain link's target walks `d/..` (its target stays under 4096 bytes). */
const BACK_AND_FORTH = 790;
/** Symlinks in the chain: with the PATH link into it, Linux's 40. */
export const CHAIN_LINKS = 39;

/** A chain of CHAIN_LINKS symlinks `DIR/l0` … ending at the directory `DIR/end`. */
function chain(dir: string): EntrySpec[] {
  const detour = 'd/../'.repeat(BACK_AND_FORTH);
  const entries: EntrySpec[] = [
    { type: 'dir', path: `${dir}/d/` },
    { type: 'dir', path: `${dir}/end/` },
  ];
  for (let i = 0; i < CHAIN_LINKS; i++)
    entries.push({ type: 'symlink', path: `${dir}/l${i}`, target: `${detour}${i === CHAIN_LINKS - 1 ? 'end' : `l${i + 1}`}` });
  return entries;
}

/**
 * The layers' entries: the chains, `linkLayers` layers of links into /opt/c, and (when
 * `writesThrough` > 0) a layer writing through /opt/w (another chain: the links into /opt/c
 * keep leading to an executable with every driver, and before this work was memoised too).
 */
export function linkChainLayers(linkLayers: number, writesThrough = 0): EntrySpec[][] {
  const first: EntrySpec[] = [
    ...chain('opt/c'),
    { type: 'file', path: 'opt/c/end/cc-real', mode: 0o755, content: '#!/bin/cc' },
    { type: 'dir', path: 'usr/bin/' },
  ];
  if (writesThrough > 0) first.push(...chain('opt/w'));
  const layers = [first];
  for (let l = 0; l < linkLayers; l++) {
    layers.push(
      Array.from({ length: 1000 }, (_, i): EntrySpec => ({
        type: 'symlink',
        path: `usr/bin/gcc-${l * 1000 + i}`,
        target: '/opt/c/l0/cc-real',
      })),
    );
  }
  if (writesThrough > 0) {
    const writes: EntrySpec[] = [];
    for (let i = 0; i < writesThrough; i++)
      writes.push({ type: 'symlink', path: 'tmp/r', target: `x${i}` }, { type: 'file', path: `opt/w/l0/w${i}`, mode: 0o755, content: 'w' });
    layers.push(writes);
  }
  return layers;
}

/** Writes the image as an OCI layout at `root`, tagged 1.0; a configuration that passes every check but the layer count. */
export async function writeLinkChainLayout(root: string, linkLayers: number, writesThrough = 0): Promise<BuiltImage> {
  const image = buildImage({
    layers: linkChainLayers(linkLayers, writesThrough).map((entries) => ({ entries, compression: 'gzip' as const })),
    config: { User: '1000:1000', Labels: { vendor: 'Example', version: '1.0', component: 'c', product: 'p' }, Cmd: ['/opt/c/end/cc-real'] },
  });
  await writeOciLayout(root, [{ image, tag: '1.0' }]);
  return image;
}

/**
 * The progress display (src/cli/progress.ts), driven by a fake clock and a recording sink:
 * plain mode writes a line per layer read and an image's totals every 30 s, never more often;
 * tty mode redraws at most 10 times a second and erases what it drew before other output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/cli/logger.js';
import { PLAIN_INTERVAL_MS, progressReporter, type ProgressSink } from '../../../src/cli/progress.js';

const MiB = 1048576;

/** A sink whose time moves only when the test says, recording every write. */
function recorder(): ProgressSink & { writes: string[]; advance(ms: number): void } {
  let now = 0;
  const writes: string[] = [];
  return { writes, now: () => now, write: (t) => void writes.push(t), advance: (ms) => void (now += ms) };
}

test('plain: one line per layer read, and the image totals (all its layers) once per 30 s of a long pull', () => {
  const sink = recorder();
  const p = progressReporter('plain', true, sink);
  assert.ok(p);
  // 283 MiB in two layers, 12 MiB a second, one chunk of 1.2 MiB every 100 ms for 16 s, then the rest.
  for (let t = 0; t < 16_000; t += 100) {
    p.bytes('perf/big', 'sha256:aaaa', 200 * MiB, 1.2 * MiB, 283 * MiB);
    sink.advance(100);
  }
  p.layerDone('perf/big', 'sha256:aaaa', 1, 2);
  for (let t = 0; t < 20_000; t += 100) {
    p.bytes('perf/big', 'sha256:bbbb', 83 * MiB, 0.4 * MiB, 283 * MiB);
    sink.advance(100);
  }
  p.layerDone('perf/big', 'sha256:bbbb', 2, 2);
  const lines = sink.writes.join('').trimEnd().split('\n');
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[0] ?? '', /^perf\/big: layer 1\/2 aaaa read \(192 MiB, 12 MiB\/s\)$/);
  // 30 s after the image's first byte: its totals, over both layers.
  assert.match(lines[1] ?? '', /^perf\/big: 248 MiB of 283 MiB, 8\.3 MiB\/s$/);
  assert.match(
    lines[2] ?? '',
    /^perf\/big: layer 2\/2 bbbb read \(80 MiB, 4\.0 MiB\/s\); image read in 36 s$/,
    'the last layer says how long the whole image took',
  );

  // A pull longer than 30 s: one totals line at 30 s, one at 60 s, none in between.
  const slow = recorder();
  const q = progressReporter('plain', false, slow);
  assert.ok(q);
  for (let t = 0; t <= 65_000; t += 500) {
    q.bytes('perf/big', t < 20_000 ? 'sha256:cccc' : 'sha256:dddd', 140 * MiB, 1 * MiB, 283 * MiB);
    if (t === 19_500) q.layerDone('perf/big', 'sha256:cccc', 1, 2);
    slow.advance(500);
  }
  const totals = slow.writes.filter((w) => / of 283 MiB/.test(w));
  assert.equal(totals.length, Math.floor(65_000 / PLAIN_INTERVAL_MS));
  // The image's totals count the layer already read too.
  assert.match(totals[0] ?? '', /^perf\/big: 61 MiB of 283 MiB, 2\.0 MiB\/s\n$/);
  assert.match(totals[1] ?? '', /^perf\/big: 121 MiB of 283 MiB, 2\.0 MiB\/s\n$/);
});

test('tty: at most 10 redraws a second, one line per layer in flight, erased before other output', () => {
  const sink = recorder();
  const p = progressReporter('auto', true, sink);
  assert.ok(p);
  for (let i = 0; i < 1000; i++) {
    p.bytes('app:1', 'sha256:aaaa', 10 * MiB, 1000);
    p.bytes('app:1', 'sha256:bbbb', 10 * MiB, 1000);
    sink.advance(1);
  }
  // 1 s of events, 2000 of them: a draw at 0 ms and then every 100 ms at most.
  const draws = sink.writes.filter((w) => w.includes('app:1'));
  assert.ok(draws.length <= 11, `${draws.length} draws in one second`);
  // The whole image first (layers done, bytes, time since it started), then a line per layer.
  assert.match(draws.at(-1) ?? '', /^app:1: 0\/\? layers, [\d.]+ MiB, 0 s\n {2}aaaa: .* of 10 MiB, .*\/s\n {2}bbbb: /);
  sink.advance(64_000);
  p.layerDone('app:1', 'sha256:aaaa', 1, 2);
  assert.match(sink.writes.at(-1) ?? '', /^app:1: 1\/2 layers, 1\.9 MiB, 1 min 05 s\n {2}bbbb: /);
  sink.writes.length = 0;
  p.beforeOutput();
  // Two lines drawn: back to the first one's start and clear to the end of the screen.
  assert.deepEqual(sink.writes, ['\r\u001b[1A\u001b[J']);
  p.beforeOutput();
  assert.equal(sink.writes.length, 1, 'nothing left to erase');
});

test('none draws nothing; auto off a terminal is plain', () => {
  assert.equal(progressReporter('none', true, recorder()), undefined);
  const sink = recorder();
  progressReporter('auto', false, sink)?.layerDone('a', 'sha256:dd', 1, 1);
  assert.deepEqual(sink.writes, ['a: layer 1/1 dd read\n']);
  progressReporter('plain', false, sink)?.layerDone('a', 'sha256:ee', 1, 1, true);
  assert.equal(sink.writes.at(-1), 'a: layer 1/1 ee cached\n', 'a cache hit read nothing');
});

test('a log line is written after the progress display was erased, never glued to it', () => {
  const screen: string[] = [];
  const sink = { now: () => 0, write: (t: string) => void screen.push(t) };
  const p = progressReporter('tty', true, sink);
  assert.ok(p);
  const logger = createLogger(
    'warn',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        screen.push(chunk.toString());
        done();
      },
    }),
    () => p.beforeOutput(),
  );
  p.bytes('app:1', 'sha256:aaaa', 10 * MiB, MiB);
  logger.warn('policy: acceptance expired');
  assert.equal(screen.length, 3, JSON.stringify(screen));
  assert.match(screen[0] ?? '', /^app:1: 0\/\? layers, 1\.0 MiB, 0 s\n {2}aaaa: 1\.0 MiB of 10 MiB$/);
  assert.equal(screen[1], '\r\u001b[1A\u001b[J');
  assert.match(screen[2] ?? '', /^\{"level":40.*"msg":"policy: acceptance expired"\}\n$/);
});

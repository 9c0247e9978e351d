/**
 * Times one process for the image bench (bench/image.bench.ts): `timer.js CMD ARG…` runs CMD,
 * and prints one JSON line — its wall time from spawn to exit, its exit code, its stdout and
 * stderr. A process of its own, loading only Node's modules: spawning from the bench's own
 * process, which holds the images it pushed, costs tens of milliseconds of copying its memory
 * map per spawn, and would be counted in every figure.
 */
import { spawnSync } from 'node:child_process';

const [cmd = '', ...args] = process.argv.slice(2);
const started = process.hrtime.bigint();
const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(`${JSON.stringify({ seconds, status: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error?.message })}\n`);

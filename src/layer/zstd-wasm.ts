/**
 * libzstd's streaming decoder built to WebAssembly (scripts/zstd-wasm/, the same libzstd
 * source and the same calls as zstd-napi's native addon): the zstd decoder of an install that
 * has neither Node's own zstd (< 22.15) nor zstd-napi (an optional dependency, absent where
 * npm could not compile it). Being libzstd itself, it gives the native path's bytes and its
 * refusals, error names included (docs/architecture.md, "Decoders").
 *
 * Each decoder is an instance of its own, with a memory of its own that grows to the frame's
 * window (at most 2^windowLogMax bytes) plus libzstd's tables and two I/O buffers, and is
 * freed with the instance.
 */
import { ZSTD_WASM_BASE64 } from './zstd-wasm.generated.js';

/** The part of the WebAssembly JavaScript API used here (Node has it; @types/node 20 does not declare it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule) => { readonly exports: unknown };
};
type WasmModule = { readonly __brand: 'WebAssembly.Module' };

/** What scripts/zstd-wasm/shim.c exports (pointers and size_t are u32: read them with `>>> 0`). */
interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer };
  ocizstd_malloc(size: number): number;
  ocizstd_free(ptr: number): void;
  ocizstd_create(windowLogMax: number): number;
  ocizstd_step(dctx: number, dst: number, dstSize: number, src: number, srcSize: number): number;
  ocizstd_counts(): number;
  ocizstd_is_error(code: number): number;
  ocizstd_error_name(code: number): number;
  ocizstd_version(): number;
}

let compiled: WasmModule | undefined;

/** The compiled module (compiled once, on first use: 91 KB, a few milliseconds). */
function module(): WasmModule {
  compiled ??= new WebAssembly.Module(Buffer.from(ZSTD_WASM_BASE64, 'base64'));
  return compiled;
}

/**
 * One libzstd decoding context (ZSTD_DCtx) in an instance of its own, with zstd-napi's
 * `DCtx.decompressStream` call shape: `[hint, produced, consumed]`, an Error named by
 * ZSTD_getErrorName on failure.
 */
export class WasmZstdDCtx {
  readonly #x: Exports;
  readonly #dctx: number;
  /** The input and output buffers in the instance's memory, grown to the largest call's. */
  #in = { ptr: 0, capacity: 0 };
  #out = { ptr: 0, capacity: 0 };

  /** A context refusing frames whose window is larger than 2^windowLogMax bytes. */
  constructor(windowLogMax: number) {
    this.#x = new WebAssembly.Instance(module()).exports as unknown as Exports;
    this.#dctx = this.#x.ocizstd_create(windowLogMax) >>> 0;
    if (this.#dctx === 0) throw new Error('Allocation error : not enough memory');
  }

  /** `buffer`, grown to `size` bytes at least. */
  #reserve(buffer: { ptr: number; capacity: number }, size: number): number {
    if (buffer.capacity < size) {
      if (buffer.ptr !== 0) this.#x.ocizstd_free(buffer.ptr);
      buffer.ptr = this.#x.ocizstd_malloc(size) >>> 0;
      if (buffer.ptr === 0) throw new Error('Allocation error : not enough memory');
      buffer.capacity = size;
    }
    return buffer.ptr;
  }

  /** ZSTD_decompressStream from `src` into `dst`: the hint (0 at a frame's end), bytes produced, bytes consumed. */
  decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number] {
    const x = this.#x;
    // The whole input and output of the call, as zstd-napi passes them: libzstd's result on a
    // damaged frame may depend on how its input is cut, so the calls must be the same.
    const out = this.#reserve(this.#out, dst.length);
    const input = this.#reserve(this.#in, src.length);
    // The memory may have grown (a new ArrayBuffer) in any call: views are made afresh.
    new Uint8Array(x.memory.buffer, input, src.length).set(src);
    const ret = x.ocizstd_step(this.#dctx, out, dst.length, input, src.length) >>> 0;
    if (x.ocizstd_is_error(ret) !== 0) throw new Error(this.#cString(x.ocizstd_error_name(ret) >>> 0));
    const counts = new Uint32Array(x.memory.buffer, x.ocizstd_counts() >>> 0, 2);
    const produced = counts[0] ?? 0;
    const consumed = counts[1] ?? 0;
    dst.set(new Uint8Array(x.memory.buffer, out, produced));
    return [ret, produced, consumed];
  }

  /** A NUL-terminated string of the instance's memory (libzstd's error names are ASCII). */
  #cString(ptr: number): string {
    const bytes = new Uint8Array(this.#x.memory.buffer, ptr);
    const end = bytes.indexOf(0);
    return Buffer.from(bytes.subarray(0, end < 0 ? 0 : end)).toString('latin1');
  }
}

/** libzstd's version number (major·10000 + minor·100 + release) in the WebAssembly build. */
export function wasmZstdVersion(): number {
  return (new WebAssembly.Instance(module()).exports as unknown as Exports).ocizstd_version();
}

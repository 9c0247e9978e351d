/*
 * The WebAssembly face of libzstd's streaming decoder, for oci-scan's fallback zstd decoder
 * (src/layer/zstd-wasm.ts; docs/architecture.md, "Decoders"). The same calls zstd-napi's
 * DCtx makes: ZSTD_createDCtx, ZSTD_DCtx_setParameter(windowLogMax), ZSTD_decompressStream.
 */
#include <stdlib.h>
#include "zstd.h"

/* Where the last step left its counts: [produced, consumed]. */
static size_t step_counts[2];

__attribute__((export_name("ocizstd_malloc"))) void *ocizstd_malloc(size_t size) { return malloc(size); }
__attribute__((export_name("ocizstd_free"))) void ocizstd_free(void *ptr) { free(ptr); }

/* A decoder context refusing frames whose window exceeds 2^window_log_max; 0 when out of memory or refused. */
__attribute__((export_name("ocizstd_create"))) ZSTD_DCtx *ocizstd_create(int window_log_max) {
  ZSTD_DCtx *dctx = ZSTD_createDCtx();
  if (dctx == NULL) return NULL;
  if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, window_log_max))) {
    ZSTD_freeDCtx(dctx);
    return NULL;
  }
  return dctx;
}

__attribute__((export_name("ocizstd_release"))) void ocizstd_release(ZSTD_DCtx *dctx) { ZSTD_freeDCtx(dctx); }

/* One ZSTD_decompressStream call: its return value (a hint, or an error code), counts in ocizstd_counts(). */
__attribute__((export_name("ocizstd_step"))) size_t ocizstd_step(ZSTD_DCtx *dctx, void *dst, size_t dst_size, const void *src, size_t src_size) {
  ZSTD_outBuffer out = { dst, dst_size, 0 };
  ZSTD_inBuffer in = { src, src_size, 0 };
  size_t ret = ZSTD_decompressStream(dctx, &out, &in);
  step_counts[0] = out.pos;
  step_counts[1] = in.pos;
  return ret;
}

__attribute__((export_name("ocizstd_counts"))) size_t *ocizstd_counts(void) { return step_counts; }
__attribute__((export_name("ocizstd_is_error"))) unsigned ocizstd_is_error(size_t code) { return ZSTD_isError(code); }
__attribute__((export_name("ocizstd_error_name"))) const char *ocizstd_error_name(size_t code) { return ZSTD_getErrorName(code); }
__attribute__((export_name("ocizstd_version"))) unsigned ocizstd_version(void) { return ZSTD_versionNumber(); }

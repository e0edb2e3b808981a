#include "data/chunk_codec.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

#include "common/check.h"
#include "common/worker_threads.h"

namespace kd::data {

std::vector<uint8_t> shuffle_deflate(const void* data, size_t bytes, size_t elem_size, int level) {
  const auto* in = static_cast<const uint8_t*>(data);
  std::vector<uint8_t> shuffled(bytes);
  const size_t n = elem_size > 1 ? bytes / elem_size : 0;
  if (n > 1) {
    // Byte j of element i goes to j * n + i; a tail shorter than one element is copied as is.
    for (size_t j = 0; j < elem_size; ++j)
      for (size_t i = 0; i < n; ++i) shuffled[j * n + i] = in[i * elem_size + j];
    std::memcpy(shuffled.data() + n * elem_size, in + n * elem_size, bytes - n * elem_size);
  } else {
    std::memcpy(shuffled.data(), in, bytes);
  }
  // libdeflate writes the same zlib format as zlib's compress2 (what HDF5's deflate filter
  // reads), about twice as fast. One compressor per thread and level, reused.
  thread_local int cached_level = -1;
  thread_local std::unique_ptr<libdeflate_compressor, void (*)(libdeflate_compressor*)> c(
      nullptr, libdeflate_free_compressor);
  if (cached_level != level) {
    c.reset(libdeflate_alloc_compressor(level));
    KD_CHECK(c != nullptr, "libdeflate: cannot create a level-{} compressor", level);
    cached_level = level;
  }
  std::vector<uint8_t> out(libdeflate_zlib_compress_bound(c.get(), bytes));
  const size_t n_out =
      libdeflate_zlib_compress(c.get(), shuffled.data(), bytes, out.data(), out.size());
  KD_CHECK(n_out > 0, "libdeflate: compressing a {}-byte chunk failed", bytes);
  out.resize(n_out);
  return out;
}

std::vector<uint8_t> inflate_unshuffle(const std::vector<uint8_t>& encoded, size_t bytes,
                                       size_t elem_size) {
  std::vector<uint8_t> shuffled(bytes);
  uLongf len = static_cast<uLongf>(bytes);
  const int rc = uncompress(shuffled.data(), &len, encoded.data(), encoded.size());
  KD_CHECK(rc == Z_OK && len == bytes, "zlib uncompress failed (code {}, {} of {} bytes)", rc, len,
           bytes);
  std::vector<uint8_t> out(bytes);
  const size_t n = elem_size > 1 ? bytes / elem_size : 0;
  if (n > 1) {
    for (size_t j = 0; j < elem_size; ++j)
      for (size_t i = 0; i < n; ++i) out[i * elem_size + j] = shuffled[j * n + i];
    std::memcpy(out.data() + n * elem_size, shuffled.data() + n * elem_size, bytes - n * elem_size);
  } else {
    out = shuffled;
  }
  return out;
}

void run_parallel(size_t n, unsigned threads, const std::function<void(size_t)>& task) {
  if (n == 0) return;
  std::atomic<size_t> next{0};
  const auto workers = static_cast<unsigned>(std::clamp<size_t>(threads, 1, n));
  run_workers(workers, [&](unsigned) {
    for (size_t i; (i = next.fetch_add(1)) < n;) task(i);
  });
}

}  // namespace kd::data

#include "data/chunk_codec.h"

#include <zlib.h>

#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include "common/check.h"

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
  uLongf out_len = compressBound(static_cast<uLong>(bytes));
  std::vector<uint8_t> out(out_len);
  const int rc = compress2(out.data(), &out_len, shuffled.data(), static_cast<uLong>(bytes), level);
  KD_CHECK(rc == Z_OK, "zlib compress2 failed with code {} on a {}-byte chunk", rc, bytes);
  out.resize(out_len);
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
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex mu;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      try {
        task(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads && t < n; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace kd::data

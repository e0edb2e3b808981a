// HDF5 chunk encoding done outside HDF5, so that chunks can be compressed on several threads
// and written with H5Dwrite_chunk (HDF5's own filter pipeline runs on the calling thread only).
// The encoding is that of HDF5's shuffle filter followed by its deflate filter (a zlib-format
// stream), so readers (HDF5, h5py) decode the chunks with the standard filters.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace kd::data {

// Byte shuffle (HDF5 H5Z_FILTER_SHUFFLE) of `bytes` bytes of `elem_size`-byte elements, then a
// zlib-format deflate stream at `level` (1..9; libdeflate). Throws kd::Error on failure.
std::vector<uint8_t> shuffle_deflate(const void* data, size_t bytes, size_t elem_size, int level);

// The inverse (for tests): inflate, then unshuffle.
std::vector<uint8_t> inflate_unshuffle(const std::vector<uint8_t>& encoded, size_t bytes,
                                       size_t elem_size);

// Runs task(i) for i in [0, n) on up to `threads` threads (the caller's thread included).
void run_parallel(size_t n, unsigned threads, const std::function<void(size_t)>& task);

}  // namespace kd::data

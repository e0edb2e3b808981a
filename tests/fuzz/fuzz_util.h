// Helpers shared by the fuzz targets. The readers under test take file paths (that is how
// kdprune meets untrusted bytes), so each input is written to a per-process temporary file and
// read through the real entry point. A thrown kd::Error is the reader rejecting bad input
// correctly; anything else escaping LLVMFuzzerTestOneInput (a foreign exception reaching
// std::terminate, a crash, a sanitizer report, a hang) is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/check.h"

namespace kd::fuzz {

// $TMPDIR/kd_fuzz_<pid>_<name>: per process, so parallel fuzzers (-jobs) never share a file.
inline std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/kd_fuzz_" + std::to_string(getpid()) + "_" +
         name;
}

// Writes bytes to `path`; aborts if it cannot (a broken harness must not look like a pass).
inline void write_file(const std::string& path, std::string_view bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
}

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// An invariant of the reader's output that does not hold: reported as a crash with a reason.
#define KD_FUZZ_ASSERT(cond, what)                                                           \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", what, __FILE__, __LINE__); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

}  // namespace kd::fuzz

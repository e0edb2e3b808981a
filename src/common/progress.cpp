#include "common/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace kd {

ProgressBar::ProgressBar(int64_t total, bool enabled)
    : total_(total),
      enabled_(enabled && isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(int64_t done, const std::string& status) {
  if (!enabled_) return;
  constexpr int kWidth = 30;
  double frac = total_ > 0 ? static_cast<double>(done) / total_ : 1.0;
  int filled = static_cast<int>(frac * kWidth);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double eta = done > 0 ? elapsed * (total_ - done) / done : 0.0;
  std::string bar(filled, '=');
  if (filled < kWidth) bar += '>' + std::string(kWidth - filled - 1, ' ');
  std::fprintf(stderr, "\r[%s] %lld/%lld %s ETA %dm%02ds\x1b[K", bar.c_str(),
               static_cast<long long>(done), static_cast<long long>(total_), status.c_str(),
               static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (enabled_) std::fprintf(stderr, "\n");
}

}  // namespace kd

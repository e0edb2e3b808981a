// A one-line progress bar on stderr for rank 0 when stderr is a terminal; otherwise nothing
// (the trainer logs a line every log_every steps instead).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace kd {

class ProgressBar {
 public:
  ProgressBar(int64_t total, bool enabled);
  void update(int64_t done, const std::string& status);
  void finish();
  bool active() const { return enabled_; }

 private:
  int64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace kd

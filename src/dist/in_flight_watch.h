// Collectives the host never waits for (NCCL's, on their own stream: Work::wait only orders the
// default stream after them), watched from the collective watchdog's thread: a dead peer would
// otherwise leave the next host sync (a loss's .item()) blocked forever inside CUDA. Each launch
// is added with a probe (is it done? release its resources); check() reports the oldest
// unfinished one past dist.stall_warn_s (a warning) or dist.timeout_s (the failure that ends the
// job). Backend-neutral, so the policy is tested without a GPU (tests/dist).
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "dist/collective_watchdog.h"

namespace kd::dist {

class InFlightWatch {
 public:
  using Clock = std::chrono::steady_clock;
  struct Probe {
    std::function<bool()> done;     // the collective has completed
    std::function<void()> release;  // frees what done() queries (a CUDA event)
  };
  InFlightWatch() = default;
  ~InFlightWatch();
  InFlightWatch(const InFlightWatch&) = delete;
  InFlightWatch& operator=(const InFlightWatch&) = delete;

  // A launch, in launch order; `what` names it in reports (a string literal). Finished launches
  // are dropped here too, so nothing accumulates where no watchdog runs (a world of one).
  void add(const char* what, Probe probe, Clock::time_point now = Clock::now());
  // "" while all is well, else the report of the oldest unfinished launch past timeout_s;
  // past stall_warn_s (again every stall_warn_s) it logs a warning. `who` names the rank.
  std::string check(const WatchdogOptions& options, const std::string& who,
                    Clock::time_point now = Clock::now());
  size_t pending();
  int warnings() const { return warnings_total_; }

 private:
  struct Launch {
    Probe probe;
    const char* what;
    Clock::time_point since;
    int64_t step;
    uint64_t number;
  };
  void drop_finished();  // launches finish in order: one stream per communicator

  std::mutex mu_;
  std::deque<Launch> launches_;
  uint64_t launched_ = 0, warned_number_ = 0;
  int warnings_ = 0, warnings_total_ = 0;
};

}  // namespace kd::dist

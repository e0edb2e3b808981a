#include "dist/in_flight_watch.h"

#include <fmt/format.h>

#include "common/log.h"

namespace kd::dist {

InFlightWatch::~InFlightWatch() {
  for (auto& l : launches_)
    if (l.probe.release) l.probe.release();
}

void InFlightWatch::add(const char* what, Probe probe, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  drop_finished();
  launches_.push_back({std::move(probe), what, now, watchdog_step(), ++launched_});
}

size_t InFlightWatch::pending() {
  std::lock_guard<std::mutex> lock(mu_);
  drop_finished();
  return launches_.size();
}

std::string InFlightWatch::check(const WatchdogOptions& options, const std::string& who,
                                 Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  drop_finished();
  if (launches_.empty()) return "";
  const Launch& oldest = launches_.front();
  const double age = std::chrono::duration<double>(now - oldest.since).count();
  const std::string what = fmt::format(
      "{} (collective {} of its communicator{}) on {} has not completed after {:.0f} s",
      oldest.what, oldest.number,
      oldest.step >= 0 ? fmt::format(", launched at step {}", oldest.step) : "", who, age);
  if (options.timeout_s > 0 && age >= options.timeout_s)
    return what + fmt::format(
                      " (dist.timeout_s = {} s): a rank has died or stopped, or the network is "
                      "down",
                      options.timeout_s);
  if (oldest.number != warned_number_) {
    warned_number_ = oldest.number;
    warnings_ = 0;
  }
  if (options.stall_warn_s > 0 && age >= options.stall_warn_s * (warnings_ + 1)) {
    ++warnings_;
    ++warnings_total_;
    log_warn("dist", "[watchdog] {}", what);
  }
  return "";
}

void InFlightWatch::drop_finished() {
  while (!launches_.empty() && launches_.front().probe.done()) {
    if (launches_.front().probe.release) launches_.front().probe.release();
    launches_.pop_front();
  }
}

}  // namespace kd::dist

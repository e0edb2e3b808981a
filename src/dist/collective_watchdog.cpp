#include "dist/collective_watchdog.h"

#include <spdlog/spdlog.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "dist/mpi_utils.h"

namespace kd::dist {
namespace {
using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// What a rank tells the others each exchange (sent as bytes: every rank runs the same binary).
struct RankState {
  char what[24] = {0};    // the collective it is in, "" when in none
  double waited_s = 0;    // for how long
  int64_t step = -1;      // its training step (-1: not training)
  int32_t unbounded = 0;  // the collective waits for other groups' work by design
  int32_t stopping = 0;   // its stop_watchdog() was called
};

// This process's collective, written by CollectiveScope (any thread), read by the watchdog.
struct LocalState {
  std::mutex mu;
  const char* what = nullptr;  // outermost scope's name (a string literal)
  Clock::time_point since;
  int depth = 0;
  int unbounded = 0;
  uint64_t entries = 0;  // distinguishes one collective from the next
  std::atomic<int64_t> step{-1};
} g_local;

// Registered checks (add_watchdog_check), run on the watchdog thread under the lock.
struct Checks {
  std::mutex mu;
  int next_id = 0;
  std::vector<std::pair<int, WatchdogCheck>> list;
} g_checks;

// Who has not arrived, from the last complete exchange (`age` s old; older than `fresh_s`
// means some rank stopped answering).
std::string stall_report(const std::vector<RankState>& all, const std::vector<std::string>& hosts,
                         int me, double age, double fresh_s) {
  std::string waiting, absent;
  for (int r = 0; r < static_cast<int>(all.size()); ++r) {
    const RankState& s = all[r];
    const std::string step = s.step >= 0 ? fmt::format("step {}", s.step) : "not training";
    if (s.what[0] != '\0')
      waiting += fmt::format("{}{} ({}, {}: {:.0f} s)", waiting.empty() ? "" : ", ", r, hosts[r],
                             s.what, s.waited_s);
    else if (r != me)
      absent += fmt::format("{}{} ({}, {})", absent.empty() ? "" : ", ", r, hosts[r], step);
  }
  std::string text = fmt::format(
      "stall inspector, as of {:.0f} s ago: ranks not in any collective (not arrived): {}; "
      "ranks in a collective: {}",
      age, absent.empty() ? "none" : absent, waiting.empty() ? "none" : waiting);
  if (age > fresh_s)
    text += fmt::format(
        "; no rank has answered the watchdog for {:.0f} s: a rank has died, or its process "
        "is stopped",
        age);
  return text;
}

class Watchdog {
 public:
  explicit Watchdog(const WatchdogOptions& options) : options_(options) {
    KD_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm_));
    KD_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
    KD_MPI_CHECK(MPI_Comm_size(comm_, &size_));
    char host[64] = {0};
    gethostname(host, sizeof(host) - 1);
    std::vector<char> hosts(sizeof(host) * size_);
    KD_MPI_CHECK(
        MPI_Allgather(host, sizeof(host), MPI_CHAR, hosts.data(), sizeof(host), MPI_CHAR, comm_));
    for (int r = 0; r < size_; ++r) hosts_.emplace_back(hosts.data() + r * sizeof(host));
    gathered_.resize(size_);
    snapshot_.resize(size_);
    const double shortest = std::min(options.stall_warn_s > 0 ? options.stall_warn_s : 1e9,
                                     options.timeout_s > 0 ? options.timeout_s : 1e9);
    tick_s_ = std::clamp(shortest / 4, 0.05, 1.0);
    snapshot_at_ = Clock::now();
    thread_ = std::thread([this] { loop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  const WatchdogOptions& options() const { return options_; }

 private:
  void loop() {
    MPI_Request request = MPI_REQUEST_NULL;
    for (;;) {
      if (request == MPI_REQUEST_NULL) {
        mine_ = current_state();
        MPI_Iallgather(&mine_, sizeof(RankState), MPI_BYTE, gathered_.data(), sizeof(RankState),
                       MPI_BYTE, comm_, &request);
      }
      int done = 0;
      MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      if (done) {
        request = MPI_REQUEST_NULL;
        bool everyone_stopping = true;
        for (const auto& s : gathered_) everyone_stopping = everyone_stopping && s.stopping;
        if (everyone_stopping) return;  // every rank leaves after this same exchange
        std::lock_guard<std::mutex> lock(mu_);
        snapshot_ = gathered_;
        snapshot_at_ = Clock::now();
      }
      check();
      std::unique_lock<std::mutex> lock(mu_);
      const auto wait =
          stopping_ ? std::chrono::duration<double>(0.002) : std::chrono::duration<double>(tick_s_);
      wake_.wait_for(lock, wait);
    }
  }

  RankState current_state() {
    RankState s;
    std::lock_guard<std::mutex> lock(g_local.mu);
    if (g_local.depth > 0) {
      std::snprintf(s.what, sizeof(s.what), "%s", g_local.what);
      s.waited_s = seconds_between(g_local.since, Clock::now());
      s.unbounded = g_local.unbounded > 0;
    }
    s.step = g_local.step.load();
    {
      std::lock_guard<std::mutex> stop_lock(mu_);
      s.stopping = stopping_;
    }
    return s;
  }

  // Warns past stall_warn_s (again every stall_warn_s) and ends the job past timeout_s.
  void check() {
    const std::string failure = run_watchdog_checks(options_);
    if (!failure.empty()) abort_job(failure, 1);
    const RankState me = current_state();
    uint64_t entry = 0;
    {
      std::lock_guard<std::mutex> lock(g_local.mu);
      entry = g_local.entries;
    }
    if (me.what[0] == '\0') return;
    if (entry != warned_entry_) {
      warned_entry_ = entry;
      warnings_ = 0;
    }
    if (options_.timeout_s > 0 && !me.unbounded && me.waited_s >= options_.timeout_s)
      abort_job(fmt::format("{}\n  the collective passed its deadline, dist.timeout_s = {} s: "
                            "ending the job (raise dist.timeout_s if this wait is expected)",
                            report(me), options_.timeout_s),
                1);
    const double warn = options_.stall_warn_s;
    if (warn > 0 && me.waited_s >= warn * (warnings_ + 1)) {
      ++warnings_;
      spdlog::warn("[watchdog] {}", report(me));
    }
  }

  std::string report(const RankState& me) {
    std::vector<RankState> all;
    double age = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      all = snapshot_;
      age = seconds_between(snapshot_at_, Clock::now());
    }
    std::string text =
        fmt::format("rank {} ({}) has waited {:.0f} s in {}{}{}", rank_, hosts_[rank_], me.waited_s,
                    me.what, me.step >= 0 ? fmt::format(" at step {}", me.step) : "",
                    me.unbounded ? " (waiting for other groups' work)" : "");
    return text + "; " + stall_report(all, hosts_, rank_, age, 2 * tick_s_ + 1);
  }

  WatchdogOptions options_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::vector<std::string> hosts_;
  double tick_s_ = 1;
  RankState mine_;                   // the exchange's send buffer (watchdog thread only)
  std::vector<RankState> gathered_;  // its receive buffer (watchdog thread only)
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<RankState> snapshot_;  // the last complete exchange
  Clock::time_point snapshot_at_;
  uint64_t warned_entry_ = 0;
  int warnings_ = 0;
  std::thread thread_;
};

std::mutex g_watchdog_mu;
std::unique_ptr<Watchdog> g_watchdog;
}  // namespace

bool start_watchdog(const WatchdogOptions& options) {
  std::lock_guard<std::mutex> lock(g_watchdog_mu);
  if (g_watchdog) return false;
  int level = 0;
  KD_MPI_CHECK(MPI_Query_thread(&level));
  if (level < MPI_THREAD_MULTIPLE) {
    log_warn("dist",
             "this MPI does not provide MPI_THREAD_MULTIPLE: no collective deadlines "
             "(dist.timeout_s) or stall reports");
    return false;
  }
  g_watchdog = std::make_unique<Watchdog>(options);
  return true;
}

void stop_watchdog() {
  std::lock_guard<std::mutex> lock(g_watchdog_mu);
  if (!g_watchdog) return;
  g_watchdog->stop();
  g_watchdog.reset();
}

WatchdogOptions watchdog_options() {
  std::lock_guard<std::mutex> lock(g_watchdog_mu);
  return g_watchdog ? g_watchdog->options() : WatchdogOptions{};
}

int add_watchdog_check(WatchdogCheck check) {
  std::lock_guard<std::mutex> lock(g_checks.mu);
  g_checks.list.emplace_back(g_checks.next_id, std::move(check));
  return g_checks.next_id++;
}

void remove_watchdog_check(int id) {
  std::lock_guard<std::mutex> lock(g_checks.mu);
  auto& l = g_checks.list;
  l.erase(std::remove_if(l.begin(), l.end(), [id](const auto& c) { return c.first == id; }),
          l.end());
}

std::string run_watchdog_checks(const WatchdogOptions& options) {
  std::lock_guard<std::mutex> lock(g_checks.mu);
  for (const auto& [id, check] : g_checks.list) {
    std::string failure = check(options);
    if (!failure.empty()) return failure;
  }
  return "";
}

void watchdog_set_step(int64_t step) {
  g_local.step.store(step);
}

int64_t watchdog_step() {
  return g_local.step.load();
}

CollectiveScope::CollectiveScope(const char* what) {
  std::lock_guard<std::mutex> lock(g_local.mu);
  if (g_local.depth++ == 0) {
    g_local.what = what;
    g_local.since = Clock::now();
    ++g_local.entries;
  }
}

CollectiveScope::~CollectiveScope() {
  std::lock_guard<std::mutex> lock(g_local.mu);
  --g_local.depth;
}

UnboundedWaitScope::UnboundedWaitScope() {
  std::lock_guard<std::mutex> lock(g_local.mu);
  ++g_local.unbounded;
}

UnboundedWaitScope::~UnboundedWaitScope() {
  std::lock_guard<std::mutex> lock(g_local.mu);
  --g_local.unbounded;
}

}  // namespace kd::dist

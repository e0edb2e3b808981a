// Deadlines for collectives (dist.timeout_s) and a stall inspector (dist.stall_warn_s).
//
// Every blocking collective of the MPI communicator runs inside a CollectiveScope. A watchdog
// thread per process (started with the world communicator when the world has 2+ ranks) swaps
// each rank's state with every other rank about once a second (an MPI_Iallgather of a few bytes
// on a communicator of its own, so it progresses while the main thread is stuck), and checks
// this rank's collective:
//   - past stall_warn_s it logs which collective, at which training step, and which ranks have
//     not arrived (those in no collective, with their step), or that the other ranks stopped
//     answering (a dead rank);
//   - past timeout_s it ends the job (abort_job) with that report.
// Collectives that wait for other rank groups' work by design (a campaign's stages, the relation
// runner's final gather) run in an UnboundedWaitScope: reported, never aborted.
// Work the host never waits for in a scope (NCCL collectives on their own stream) is watched by
// checks registered with add_watchdog_check: each tick the watchdog runs them and ends the job
// with the first failure one reports.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace kd::dist {

struct WatchdogOptions {
  double stall_warn_s = 300;  // 0: no warnings
  double timeout_s = 1800;    // 0: no deadline
};

// Starts the process's watchdog over MPI_COMM_WORLD (collective: every rank, once). A later call
// with other options keeps the running ones and returns false.
bool start_watchdog(const WatchdogOptions& options);
// Stops it (collective: every rank, before MPI_Finalize): the threads keep swapping states
// until every rank has asked to stop, so no exchange is left half done.
void stop_watchdog();
// The options in force (defaults when none was started).
WatchdogOptions watchdog_options();

// A check run by the watchdog thread each tick: returns "" while all is well, else the report
// that ends the job. It may log warnings itself. Checks run with the registry locked, so a
// check is never running once remove_watchdog_check has returned.
using WatchdogCheck = std::function<std::string(const WatchdogOptions&)>;
int add_watchdog_check(WatchdogCheck check);
void remove_watchdog_check(int id);
// Runs every registered check once; the first failure's report, or "" (the watchdog's tick; tests).
std::string run_watchdog_checks(const WatchdogOptions& options);

// The training step that reports name (1-based as in the logs; -1 outside training).
void watchdog_set_step(int64_t step);
int64_t watchdog_step();

// Marks this process as inside a collective for the scope's lifetime (outermost scope counts).
class CollectiveScope {
 public:
  explicit CollectiveScope(const char* what);
  ~CollectiveScope();
  CollectiveScope(const CollectiveScope&) = delete;
  CollectiveScope& operator=(const CollectiveScope&) = delete;
};

// Collectives in this scope may wait for other groups' work for as long as it takes.
class UnboundedWaitScope {
 public:
  UnboundedWaitScope();
  ~UnboundedWaitScope();
  UnboundedWaitScope(const UnboundedWaitScope&) = delete;
  UnboundedWaitScope& operator=(const UnboundedWaitScope&) = delete;
};

}  // namespace kd::dist

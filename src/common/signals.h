// SIGUSR1/SIGTERM (Slurm's pre-timeout signal, scancel, requeue) set a flag that the training
// loop polls once per step; every rank then checkpoints and the job exits with
// kExitCheckpointedOnSignal so that the sbatch script requeues it. A second stop signal takes the
// signal's default action (the process ends): a rank stuck in a collective or a long computation
// still dies on a repeated `scancel` or `kill`.
//
// Fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) print one line naming the rank, host
// and training step before their default action, so that the job's output names the crashed
// rank even where the launcher reports only a PID.
#pragma once
#include <cstdint>
#include <string>

namespace kd {

constexpr int kExitCheckpointedOnSignal = 85;

void install_stop_signal_handlers();
bool stop_requested();
int stop_signal();  // the signal number received, 0 if none

void install_fatal_signal_handlers();
// What the fatal-signal line says about this process ("rank 1/2 on node2"); set by
// set_process_identity. Copied into a fixed buffer: the handler may not allocate.
void set_crash_identity(const std::string& where);
// The training step the fatal-signal line reports (-1: not training).
void set_crash_step(int64_t step);

// What this thread is doing, for the fatal-signal line ("... while opening shard 'x.h5'"): a
// crash inside a library (HDF5 on a corrupt file) then names the input. Per thread, for the
// scope's lifetime; copied into a fixed buffer (the handler may not allocate).
class CrashContext {
 public:
  explicit CrashContext(const std::string& what);
  ~CrashContext();
  CrashContext(const CrashContext&) = delete;
  CrashContext& operator=(const CrashContext&) = delete;

 private:
  std::string previous_;
};

}  // namespace kd

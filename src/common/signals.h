// SIGUSR1/SIGTERM (Slurm's pre-timeout signal, scancel, requeue) set a flag that the training
// loop polls once per step; every rank then checkpoints and the job exits with
// kExitCheckpointedOnSignal so that the sbatch script requeues it.
#pragma once

namespace kd {

constexpr int kExitCheckpointedOnSignal = 85;

void install_stop_signal_handlers();
bool stop_requested();
int stop_signal();  // the signal number received, 0 if none

}  // namespace kd

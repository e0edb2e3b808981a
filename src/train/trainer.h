// The one training loop every method runs through (table of contents of a step):
//   1. micro-steps: task.micro_step() → loss/grad_accum → backward; the GradReducer all-reduces
//      gradient buckets during the last micro-step's backward
//   2. agreement: every rank learns whether any rank saw a non-finite loss or a stop signal
//   3. clip (global norm, after sync) → optimizer step with the scheduled lr → task.after_step
//   4. metrics (rank 0, JSONL), progress, periodic checkpoint; on a signal: checkpoint + stop
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "train/train_config.h"
#include "train/training_task.h"

namespace kd::train {

struct TrainResult {
  int64_t start_step = 0;  // > 0 when resumed
  int64_t end_step = 0;    // steps completed in total
  bool stopped_by_signal = false;
  int64_t skipped_steps = 0;
  double wall_s = 0;            // training time of this process, checkpoints excluded
  double tokens_per_s = 0;      // all ranks together
  std::vector<double> losses;   // rank-averaged loss of each step run here
  std::string last_checkpoint;  // directory, empty if none written
};

class Trainer {
 public:
  // `config_yaml` is the effective config, saved with each checkpoint.
  Trainer(const JobConfig& config, std::string config_yaml,
          std::shared_ptr<dist::Communicator> comm, TrainingTask& task);
  TrainResult run();

 private:
  std::string save_checkpoint(int64_t step, class Optimizer& optimizer);
  int64_t load_checkpoint(const std::string& dir, class Optimizer& optimizer);

  JobConfig config_;
  std::string config_yaml_;
  std::shared_ptr<dist::Communicator> comm_;
  TrainingTask& task_;
};

// Rewrites a metrics.jsonl keeping only the steps <= step (resume after a crash).
void truncate_metrics_after(const std::string& path, int64_t step);

// Per-rank seed derived from the job seed (splitmix64), so ranks draw different dropout masks.
uint64_t derive_seed(uint64_t seed, uint64_t stream);

}  // namespace kd::train

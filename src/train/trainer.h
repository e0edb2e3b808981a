// The one training loop every method runs through (pretrain, distill, schuBERT's phases, and each
// relation of relmask and prompt). A step has two halves:
//   mechanics (step_mechanics):
//     1. micro-steps: task.micro_step() → loss/grad_accum → backward; loss terms accumulate on the
//        task's device; the GradReducer all-reduces gradient buckets in the last micro-step's
//        backward (from its autograd hooks; see grad_reducer.h for what runs when)
//     2. agreement: one host read of the step's loss and one control-plane all-reduce of
//        [non-finite?, stop?, loss], so every rank skips, stops or goes on at the same step
//     3. task.clip_gradients (global norm by default) → optimizer step with the scheduled lr
//   policy (run): metrics (the loss terms read and reduced once per logged step, JSONL on the
//   communicator's rank 0), progress, periodic checkpoints, non-finite handling, stop on a signal
//   (checkpoint + stop), task.after_step and the caller's step hooks.
#pragma once
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "dist/grad_reducer.h"
#include "train/train_config.h"
#include "train/training_task.h"

namespace kd {
class ProgressBar;
}
namespace kd::train {

struct TrainResult {
  int64_t start_step = 0;  // > 0 when resumed
  int64_t end_step = 0;    // steps completed in total
  bool stopped_by_signal = false;
  int64_t skipped_steps = 0;
  double wall_s = 0;            // training time of this process, checkpoints excluded
  double tokens_per_s = 0;      // all ranks together
  std::vector<double> losses;   // rank-averaged loss of each step run here
  double last_loss = 0;         // rank-averaged loss of the last step, also across a resume
  std::string last_checkpoint;  // directory, empty if none written
};

// What the caller adds to the loop's policy.
struct TrainerOptions {
  // Names the run in its log lines ("IsA: step 10/100 ..."); when set, every group root logs
  // (several groups train at once) and no progress bar is drawn.
  std::string label;
  // Called on every rank after each completed step with the step number and rank-averaged loss.
  std::vector<std::function<void(int64_t step, double loss)>> step_hooks;
  // The data-slot layout the task's data follows (data/slot_loader.h: pretrain, distill): a
  // checkpoint then resumes on any number of ranks that divides data_world x data_accum (the
  // caller has set train.grad_accum to match). 0: the task's data is per rank, and a checkpoint
  // resumes only on as many ranks as wrote it.
  int data_world = 0;
  int64_t data_accum = 0;
};

class Trainer {
 public:
  // `config_yaml` is the effective config, saved with each checkpoint. `comm` is the communicator
  // the task trains on (the world or a group of it).
  Trainer(const JobConfig& config, std::string config_yaml,
          std::shared_ptr<dist::Communicator> comm, TrainingTask& task,
          TrainerOptions options = {});
  TrainResult run();

 private:
  struct StepOutcome {
    double loss = 0;  // rank-averaged
    double grad_norm = 0;
    bool nonfinite = false;                      // on any rank: no update was made
    bool stop = false;                           // a stop was requested on some rank
    int64_t tokens = 0;                          // this rank's
    std::map<std::string, torch::Tensor> parts;  // this rank's loss terms, on the device
  };
  StepOutcome step_mechanics(int64_t step, double lr, class Optimizer& optimizer,
                             dist::GradReducer& reducer, const NamedTensors& params);
  void log_step(int64_t step, double lr, const StepOutcome& s, int64_t skipped,
                double window_tokens, double window_s, double trained_s, std::ofstream& metrics,
                ProgressBar& bar);
  void note(const std::string& message) const;
  std::string save_checkpoint(int64_t step, class Optimizer& optimizer);
  int64_t load_checkpoint(const std::string& dir, class Optimizer& optimizer);

  JobConfig config_;
  std::string config_yaml_;
  std::shared_ptr<dist::Communicator> comm_;
  TrainingTask& task_;
  TrainerOptions options_;
  double last_loss_ = 0;  // of the last step, saved with each checkpoint
};

// Rewrites a metrics.jsonl keeping only the steps <= step (resume after a crash).
void truncate_metrics_after(const std::string& path, int64_t step);

// A seed derived from the job seed and a stream number (splitmix64).
uint64_t derive_seed(uint64_t seed, uint64_t stream);

}  // namespace kd::train

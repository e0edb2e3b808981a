#include "train/train_config.h"

#include "common/check.h"

namespace kd::train {

void TrainConfig::validate() const {
  KD_CHECK(steps > 0, "train.steps must be > 0 (got {})", steps);
  KD_CHECK(grad_accum >= 1, "train.grad_accum must be >= 1 (got {})", grad_accum);
  KD_CHECK(precision == "fp32" || precision == "bf16" || precision == "fp16",
           "train.precision must be fp32, bf16 or fp16 (got '{}')", precision);
  KD_CHECK(nonfinite == "stop" || nonfinite == "skip",
           "train.nonfinite must be stop or skip (got '{}')", nonfinite);
  KD_CHECK(log_every >= 1, "train.log_every must be >= 1");
  KD_CHECK(checkpoint_every >= 0, "train.checkpoint_every must be >= 0");
  KD_CHECK(keep_checkpoints >= 1, "train.keep_checkpoints must be >= 1");
  KD_CHECK(optimizer.name == "adamw" || optimizer.name == "lamb",
           "train.optimizer.name must be adamw or lamb (got '{}')", optimizer.name);
  KD_CHECK(optimizer.lr > 0, "train.optimizer.lr must be > 0");
  KD_CHECK(schedule.kind == "linear" || schedule.kind == "poly" || schedule.kind == "constant",
           "train.schedule.kind must be linear, poly or constant (got '{}')", schedule.kind);
  KD_CHECK(schedule.warmup_steps >= 0 && schedule.warmup_steps <= steps,
           "train.schedule.warmup_steps ({}) must be in [0, train.steps ({})]",
           schedule.warmup_steps, steps);
  KD_CHECK(schedule.warmup_fraction >= 0 && schedule.warmup_fraction <= 1,
           "train.schedule.warmup_fraction ({}) must be in [0, 1]", schedule.warmup_fraction);
}

void JobConfig::validate() const {
  KD_CHECK(!run_dir.empty(), "run_dir must be set");
  KD_CHECK(device == "cpu" || device == "cuda", "device must be cpu or cuda (got '{}')", device);
  KD_CHECK(threads >= 0, "threads must be >= 0");
  train.validate();
  KD_CHECK_HINT(train.precision != "fp16" || device == "cuda", "use bf16 on CPU",
                "train.precision fp16 is for GPUs (device: cuda)");
  const auto& f = debug.checkpoint_fault;
  KD_CHECK(f.empty() || f == "model" || f == "optimizer" || f == "config" || f == "state" ||
               f == "renamed" || f == "latest",
           "debug.checkpoint_fault must be empty, model, optimizer, config, state, renamed or "
           "latest (got '{}')",
           f);
  const auto& k = debug.fail_kind;
  KD_CHECK(k == "exception" || k == "nan" || k == "kill" || k == "segv" || k == "hang",
           "debug.fail_kind must be exception, nan, kill, segv or hang (got '{}')", k);
}

}  // namespace kd::train

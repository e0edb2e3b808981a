// Config sections shared by every training job (see configs/*.yaml for annotated examples).
#pragma once
#include <cstdint>
#include <string>

namespace kd::train {

struct OptimizerConfig {
  std::string name = "adamw";  // adamw | lamb
  double lr = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-6;
  double weight_decay = 0.01;  // not applied to biases and LayerNorm weights
  template <class V>
  void visit(V& v) {
    v("name", name, "adamw | lamb");
    v("lr", lr, "peak learning rate");
    v("beta1", beta1, "Adam β1");
    v("beta2", beta2, "Adam β2");
    v("eps", eps, "Adam ε");
    v("weight_decay", weight_decay, "decoupled; not on biases and LayerNorm weights");
  }
};

struct ScheduleConfig {
  std::string kind = "linear";  // linear | poly | constant (after warm-up)
  int64_t warmup_steps = 0;
  double warmup_fraction = 0.0;  // of the total steps, when warmup_steps is 0 (LAMP: 0.2)
  double power = 1.0;            // poly decay exponent
  double end_lr_ratio = 0.0;     // final lr = end_lr_ratio * lr
  template <class V>
  void visit(V& v) {
    v("kind", kind, "linear | poly | constant");
    v("warmup_steps", warmup_steps, "linear warm-up from 0 to lr");
    v("warmup_fraction", warmup_fraction,
      "warm-up as a fraction of the steps (when warmup_steps is 0)");
    v("power", power, "poly decay exponent");
    v("end_lr_ratio", end_lr_ratio, "final lr = end_lr_ratio * lr");
  }
};

struct TrainConfig {
  int64_t steps = 1000;            // optimizer steps
  int64_t grad_accum = 1;          // micro-steps per optimizer step
  double clip_norm = 1.0;          // global gradient-norm clip after sync; 0 = off
  std::string precision = "fp32";  // fp32 | bf16 (matmuls in bf16, fp32 master weights)
  std::string nonfinite = "stop";  // stop | skip (skip the update and count it)
  int64_t max_skipped = 100;       // with skip: stop after this many skipped steps
  int64_t log_every = 10;
  int64_t checkpoint_every = 0;  // 0 = final checkpoint only
  int64_t keep_checkpoints = 2;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  template <class V>
  void visit(V& v) {
    v("steps", steps, "optimizer steps (relmask/prompt: per relation)");
    v("grad_accum", grad_accum, "micro-steps per optimizer step");
    v("clip_norm", clip_norm, "gradient-norm clip after the all-reduce; 0 = off");
    v("precision", precision, "fp32 | bf16");
    v("nonfinite", nonfinite, "stop | skip");
    v("max_skipped", max_skipped, "with nonfinite: skip, stop after this many skipped steps");
    v("log_every", log_every, "steps between metrics.jsonl lines and progress");
    v("checkpoint_every", checkpoint_every,
      "steps between checkpoints; 0 = at the end (and on a signal)");
    v("keep_checkpoints", keep_checkpoints, "newest checkpoints kept");
    v("optimizer", optimizer);
    v("schedule", schedule);
  }
  void validate() const;
};

struct DistConfig {
  std::string backend = "auto";  // auto | mpi | nccl | local
  double bucket_mb = 25.0;
  double first_bucket_mb = 1.0;
  bool mpi_nonblocking = false;  // MPI_Iallreduce per bucket instead of a blocking all-reduce
  bool comm_thread = false;      // MPI: buckets reduced on a communication thread during backward
  bool hierarchical = false;     // node-local reduce, leaders' all-reduce, node-local broadcast
  int comm_poll_us = 0;          // comm_thread: ring of non-blocking messages tested every N µs
  bool defer_embedding_grad = false;  // tied word embedding: decoder part reduced early
  bool grad_bf16 = false;             // buckets all-reduced in bf16
  double stall_warn_s = 300;          // collective_watchdog.h
  double timeout_s = 1800;
  template <class V>
  void visit(V& v) {
    v("backend", backend, "auto | mpi | nccl | local");
    v("bucket_mb", bucket_mb, "gradient all-reduce bucket size");
    v("first_bucket_mb", first_bucket_mb, "smaller first bucket, so communication starts early");
    v("mpi_nonblocking", mpi_nonblocking, "MPI_Iallreduce (slower with Open MPI 4.1 shm)");
    v("comm_thread", comm_thread,
      "MPI: reduce gradient buckets on a communication thread while backward goes on");
    v("hierarchical", hierarchical,
      "MPI: all-reduce gradients node-local first (shared memory), then among one leader per "
      "node, then broadcast inside the node");
    v("comm_poll_us", comm_poll_us,
      "with comm_thread: a ring all-reduce of non-blocking messages tested every N "
      "microseconds, the thread sleeping in between (0: the blocking MPI_Allreduce, which "
      "spins)");
    v("defer_embedding_grad", defer_embedding_grad,
      "reduce the tied word embedding's decoder gradient at the start of backward and only the "
      "batch's rows of its lookup gradient at the end");
    v("grad_bf16", grad_bf16,
      "all-reduce gradient buckets in bf16 (half the bytes; fp32 before and after)");
    v("stall_warn_s", stall_warn_s,
      "a collective waiting longer is reported with the ranks that have not arrived (again "
      "every stall_warn_s; 0: never)");
    v("timeout_s", timeout_s,
      "a collective waiting longer ends the job with that report (0: wait forever)");
  }
};

// Deliberate failures for testing that one failing rank ends the whole job.
struct DebugConfig {
  int fail_rank = -1;
  int64_t fail_step = -1;
  std::string fail_kind = "exception";  // exception | nan | kill | segv | hang
  int64_t stop_after_step = -1;         // behave as if a stop signal arrived after this step
  std::string checkpoint_fault;       // "" | model | optimizer | config | state | renamed | latest
  int64_t checkpoint_fault_step = 0;  // the first checkpoint at or after this step
  template <class V>
  void visit(V& v) {
    v("stop_after_step", stop_after_step, "simulate SIGUSR1 after this step (tests)");
    v("fail_rank", fail_rank, "tests: the rank that fails");
    v("fail_step", fail_step, "tests: the step at which it fails");
    v("checkpoint_fault", checkpoint_fault,
      "tests: rank 0 is killed (SIGKILL) right after this point of writing a checkpoint: model, "
      "optimizer, config, state (every file written, before the rename), renamed (before "
      "`latest` moves), latest");
    v("checkpoint_fault_step", checkpoint_fault_step,
      "tests: checkpoint_fault applies to the first checkpoint at or after this step");
    v("fail_kind", fail_kind,
      "exception | nan | kill (SIGKILL) | segv (SIGSEGV) | hang (never arrives)");
  }
};

// Fields every job has; job configs derive from it and add their sections.
struct JobConfig {
  std::string run_dir = "runs/default";
  uint64_t seed = 42;
  std::string resume = "auto";  // auto | never | PATH of a checkpoint directory
  std::string device = "cpu";   // cpu | cuda
  int threads = 0;              // intra-op threads per rank; 0 = OMP_NUM_THREADS or 1
  std::string log_level = "info";
  TrainConfig train;
  DistConfig dist;
  DebugConfig debug;
  template <class V>
  void visit(V& v) {
    v("run_dir", run_dir, "everything the job writes goes here");
    v("seed", seed, "seeds initialisation, data order and dropout");
    v("resume", resume, "auto | never | checkpoint dir");
    v("device", device, "cpu | cuda");
    v("threads", threads, "intra-op threads per rank; 0 = OMP_NUM_THREADS or 1");
    v("log_level", log_level, "trace | debug | info | warn | error");
    v("train", train);
    v("dist", dist);
    v("debug", debug);
  }
  void validate() const;
};

}  // namespace kd::train

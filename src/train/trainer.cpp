#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/check.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/signals.h"
#include "dist/grad_reducer.h"
#include "model/safetensors.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"
#include "train/rng_state.h"

namespace kd::train {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Keeps the lines of steps <= `step`: after a crash, steps logged past the checkpoint are run
// again, and a fresh run (step 0) starts a fresh file.
void truncate_metrics_after(const std::string& path, int64_t step) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded() && j.contains("step") && j["step"].get<int64_t>() <= step)
      kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Trainer::Trainer(const JobConfig& config, std::string config_yaml,
                 std::shared_ptr<dist::Communicator> comm, TrainingTask& task)
    : config_(config), config_yaml_(std::move(config_yaml)), comm_(std::move(comm)), task_(task) {
  config_.validate();
}

TrainResult Trainer::run() {
  const auto& tc = config_.train;
  NamedTensors params = task_.trainable_parameters();
  std::vector<torch::Tensor> tensors;
  for (auto& [n, p] : params) tensors.push_back(p);
  // Rank 0's initial parameters everywhere, whatever each rank initialised.
  dist::broadcast_tensors(*comm_, tensors, 0);
  Optimizer optimizer(params, tc.optimizer);
  torch::manual_seed(derive_seed(config_.seed, comm_->rank()));

  TrainResult result;
  if (auto ckpt = find_resume_checkpoint(config_.run_dir, config_.resume)) {
    result.start_step = load_checkpoint(*ckpt, optimizer);
    log_info("train", "resumed from {} at step {}", *ckpt, result.start_step);
  } else if (auto initial = task_.initial_optimizer_state(); !initial.empty()) {
    optimizer.load_state(initial);
  }
  dist::GradReducer reducer(comm_, tensors, {config_.dist.bucket_mb, config_.dist.first_bucket_mb});

  const bool root = comm_->is_root();
  std::ofstream metrics;
  if (root) {
    const auto path = (fs::path(config_.run_dir) / "metrics.jsonl").string();
    truncate_metrics_after(path, result.start_step);
    metrics.open(path, std::ios::app);
  }
  ProgressBar bar(tc.steps, root);
  double trained_s = 0;
  int64_t tokens_total = 0;
  int64_t step = result.start_step;
  result.end_step = step;
  auto window_start = Clock::now();
  int64_t window_tokens = 0;

  for (; step < tc.steps; ++step) {
    auto t0 = Clock::now();
    const double lr = learning_rate(tc.schedule, tc.optimizer.lr, step, tc.steps);
    double loss_sum = 0;
    std::map<std::string, double> parts;
    int64_t tokens = 0;
    bool nonfinite = false;
    for (int64_t micro = 0; micro < tc.grad_accum; ++micro) {
      reducer.prepare(micro == tc.grad_accum - 1);
      if (step == config_.debug.fail_step && comm_->rank() == config_.debug.fail_rank &&
          config_.debug.fail_kind == "exception")
        KD_FAIL("injected failure at step {} (debug.fail_rank/fail_step)", step);
      MicroStepResult r = task_.micro_step();
      if (step == config_.debug.fail_step && comm_->rank() == config_.debug.fail_rank &&
          config_.debug.fail_kind == "nan")
        r.loss = r.loss * std::numeric_limits<float>::quiet_NaN();
      double value = r.loss.item<double>();
      nonfinite = nonfinite || !std::isfinite(value);
      (r.loss / static_cast<double>(tc.grad_accum)).backward();
      loss_sum += value / tc.grad_accum;
      for (auto& [k, v] : r.parts) parts[k] += v / tc.grad_accum;
      tokens += r.tokens;
    }
    reducer.finish();

    // Agreement: one rank's non-finite loss or stop signal is every rank's.
    const bool any_nonfinite =
        comm_->allreduce_scalar(nonfinite ? 1.0 : 0.0, dist::ReduceOp::Max) > 0;
    const bool stop_here = stop_requested() || step + 1 == config_.debug.stop_after_step;
    const bool any_stop = comm_->allreduce_scalar(stop_here ? 1.0 : 0.0, dist::ReduceOp::Max) > 0;
    const double mean_loss = comm_->allreduce_scalar(loss_sum, dist::ReduceOp::Sum) / comm_->size();
    double grad_norm = 0;
    if (any_nonfinite) {
      KD_CHECK_HINT(tc.nonfinite == "skip",
                    "lower train.optimizer.lr, use fp32, or set train.nonfinite: skip",
                    "non-finite loss at step {} (this rank's loss: {}); stopping", step + 1,
                    loss_sum);
      optimizer.zero_grad();
      ++result.skipped_steps;
      log_warn("train", "step {}: non-finite loss, update skipped ({} so far)", step + 1,
               result.skipped_steps);
      KD_CHECK(result.skipped_steps <= tc.max_skipped,
               "{} steps skipped for non-finite losses (train.max_skipped = {}); stopping",
               result.skipped_steps, tc.max_skipped);
    } else {
      grad_norm = clip_grad_norm(params, tc.clip_norm);
      optimizer.step(lr);
      optimizer.zero_grad();
      task_.after_step(step + 1);
    }
    trained_s += std::chrono::duration<double>(Clock::now() - t0).count();
    tokens_total += tokens;
    window_tokens += tokens;
    result.losses.push_back(mean_loss);
    result.end_step = step + 1;

    const bool log_now = (step + 1) % tc.log_every == 0 || step + 1 == tc.steps;
    if (log_now) {
      double window_s = std::chrono::duration<double>(Clock::now() - window_start).count();
      double tps =
          comm_->allreduce_scalar(static_cast<double>(window_tokens), dist::ReduceOp::Sum) /
          std::max(window_s, 1e-9);
      nlohmann::json line = {
          {"step", step + 1},       {"loss", mean_loss},   {"lr", lr},
          {"grad_norm", grad_norm}, {"tokens_per_s", tps}, {"skipped", result.skipped_steps}};
      for (auto& [k, v] : parts)
        line[k] = comm_->allreduce_scalar(v, dist::ReduceOp::Sum) / comm_->size();
      if (root) {
        line["time_s"] = trained_s;
        metrics << line.dump() << "\n";
        metrics.flush();
        std::string status = fmt::format("loss {:.4f} lr {:.2e} {:.0f} tok/s", mean_loss, lr, tps);
        if (bar.active())
          bar.update(step + 1, status);
        else
          log_info("train", "step {}/{} {}", step + 1, tc.steps, status);
      }
      window_start = Clock::now();
      window_tokens = 0;
    }
    const bool periodic = tc.checkpoint_every > 0 && (step + 1) % tc.checkpoint_every == 0;
    if (any_stop || periodic) result.last_checkpoint = save_checkpoint(step + 1, optimizer);
    if (any_stop) {
      log_info("train", "stop signal received: checkpointed at step {}, exiting", step + 1);
      result.stopped_by_signal = true;
      break;
    }
  }
  bar.finish();
  if (!result.stopped_by_signal && result.end_step > 0 &&
      (result.last_checkpoint.empty() ||
       fs::path(result.last_checkpoint).filename() != checkpoint_name(result.end_step)))
    result.last_checkpoint = save_checkpoint(result.end_step, optimizer);
  result.wall_s = trained_s;
  result.tokens_per_s =
      comm_->allreduce_scalar(static_cast<double>(tokens_total), dist::ReduceOp::Sum) /
      std::max(trained_s, 1e-9);
  return result;
}

std::string Trainer::save_checkpoint(int64_t step, Optimizer& optimizer) {
  nlohmann::json mine = {
      {"rank", comm_->rank()}, {"rng", cpu_rng_state_hex()}, {"task", task_.rank_state()}};
  auto states = comm_->gather_strings(mine.dump(), 0);
  fs::path final_dir = fs::path(checkpoints_dir(config_.run_dir)) / checkpoint_name(step);
  if (comm_->is_root()) {
    fs::path tmp = final_dir.string() + ".tmp";
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    task_.save_model((tmp / "model").string());
    model::save_safetensors((tmp / "optimizer.safetensors").string(), optimizer.state());
    nlohmann::json state = {
        {"step", step}, {"world_size", comm_->size()}, {"ranks", nlohmann::json::array()}};
    for (const auto& s : states) state["ranks"].push_back(nlohmann::json::parse(s));
    write_file_atomic((tmp / "config.yaml").string(), config_yaml_);
    write_file_atomic((tmp / "trainer_state.json").string(), state.dump(1));
    publish_checkpoint(tmp.string(), final_dir.string());
    prune_checkpoints(config_.run_dir, config_.train.keep_checkpoints);
    log_info("train", "checkpoint {}", final_dir.string());
  }
  comm_->barrier();
  return final_dir.string();
}

int64_t Trainer::load_checkpoint(const std::string& dir, Optimizer& optimizer) {
  auto state = nlohmann::json::parse(read_file((fs::path(dir) / "trainer_state.json").string()));
  int world = state.at("world_size").get<int>();
  KD_CHECK_HINT(
      world == comm_->size(), "resume with the same number of ranks, or set resume: never",
      "checkpoint {} was written by {} ranks but this job has {}", dir, world, comm_->size());
  task_.load_model((fs::path(dir) / "model").string());
  auto opt = model::load_safetensors((fs::path(dir) / "optimizer.safetensors").string());
  optimizer.load_state({opt.begin(), opt.end()});
  const auto& mine = state.at("ranks").at(comm_->rank());
  set_cpu_rng_state_hex(mine.at("rng").get<std::string>());
  task_.load_rank_state(mine.at("task"));
  return state.at("step").get<int64_t>();
}

}  // namespace kd::train

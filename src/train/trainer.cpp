#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/check.h"
#include "common/json_file.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/signals.h"
#include "dist/collective_watchdog.h"
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
                 std::shared_ptr<dist::Communicator> comm, TrainingTask& task,
                 TrainerOptions options)
    : config_(config),
      config_yaml_(std::move(config_yaml)),
      comm_(std::move(comm)),
      task_(task),
      options_(std::move(options)) {
  config_.validate();
}

namespace {
// `sum += value`, starting from the first value (so a one-term sum is the value, bit for bit).
void accumulate(torch::Tensor& sum, const torch::Tensor& value) {
  sum = sum.defined() ? sum + value : value;
}

// Turns deferred lookup gradients on for the tables whose weight is trained here, hands their
// rows to the reducer, and turns them off when training ends (later forwards of the same model,
// e.g. evaluation, must not defer: nothing would collect their rows).
class DeferredLookups {
 public:
  DeferredLookups(std::vector<model::EmbeddingTable> tables,
                  const std::vector<torch::Tensor>& params, dist::GradReducerOptions& options) {
    for (auto& table : tables) {
      for (size_t k = 0; k < params.size(); ++k) {
        if (!params[k].is_same(table->weight)) continue;
        table->set_defer_lookup_gradients(true);
        options.deferred.push_back(
            {k, [table]() mutable { return table->take_lookup_gradients(); }});
        tables_.push_back(table);
      }
    }
  }
  ~DeferredLookups() {
    for (auto& table : tables_) table->set_defer_lookup_gradients(false);
  }

 private:
  std::vector<model::EmbeddingTable> tables_;
};

// debug.fail_kind on debug.fail_rank at debug.fail_step (the reliability tests): an exception,
// the process killed (SIGKILL) or crashed (SIGSEGV) in the middle of a step, or a rank that never
// arrives at the step's collectives. `nan` is applied to the loss by the caller.
void inject_failure(const std::string& kind, int64_t step) {
  if (kind == "exception") KD_FAIL("injected failure at step {} (debug.fail_rank/fail_step)", step);
  if (kind == "kill") std::raise(SIGKILL);
  if (kind == "segv") std::raise(SIGSEGV);
  if (kind == "hang")
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}
}  // namespace

// Job-level runs log on rank 0; labelled runs (several groups at once) on each group's root.
void Trainer::note(const std::string& message) const {
  if (options_.label.empty())
    log_info("train", "{}", message);
  else if (comm_->is_root())
    log_all("train", "{}: {}", options_.label, message);
}

Trainer::StepOutcome Trainer::step_mechanics(int64_t step, double lr, Optimizer& optimizer,
                                             dist::GradReducer& reducer,
                                             const NamedTensors& params) {
  const auto& tc = config_.train;
  const auto accum = static_cast<double>(tc.grad_accum);
  StepOutcome out;
  torch::Tensor loss_sum;  // float64 on the task's device: no host read per micro-step
  for (int64_t micro = 0; micro < tc.grad_accum; ++micro) {
    reducer.prepare(micro == tc.grad_accum - 1);
    // Randomness (dropout, sampling) from (seed, step, slot): a micro-batch draws the same masks
    // whichever rank runs it, so a checkpoint resumes exactly on another number of ranks, and
    // the CUDA generators (seeded too) need no saving.
    const int64_t slot = comm_->rank() * tc.grad_accum + micro;
    torch::manual_seed(derive_seed(derive_seed(config_.seed, static_cast<uint64_t>(step)),
                                   static_cast<uint64_t>(slot)));
    if (step == config_.debug.fail_step && comm_->rank() == config_.debug.fail_rank)
      inject_failure(config_.debug.fail_kind, step);
    MicroStepResult r = task_.micro_step();
    if (step == config_.debug.fail_step && comm_->rank() == config_.debug.fail_rank &&
        config_.debug.fail_kind == "nan")
      r.loss = r.loss * std::numeric_limits<float>::quiet_NaN();
    accumulate(loss_sum, r.loss.detach().to(torch::kDouble) / accum);
    (r.loss / accum).backward();
    for (auto& [k, v] : r.parts) accumulate(out.parts[k], v.detach().to(torch::kDouble) / accum);
    out.tokens += r.tokens;
  }
  reducer.finish();

  // Agreement: one rank's non-finite loss or stop signal is every rank's. The step's one host
  // read (loss_sum) and one control-plane collective.
  const double local_loss = loss_sum.item<double>();
  const bool stop_here = stop_requested() || step + 1 == config_.debug.stop_after_step;
  std::vector<double> agree = {std::isfinite(local_loss) ? 0.0 : 1.0, stop_here ? 1.0 : 0.0,
                               local_loss};
  comm_->allreduce_values(agree, dist::ReduceOp::Sum);
  out.nonfinite = agree[0] > 0;
  out.stop = agree[1] > 0;
  out.loss = agree[2] / comm_->size();
  if (out.nonfinite) {
    KD_CHECK_HINT(
        tc.nonfinite == "skip", "lower train.optimizer.lr, use fp32, or set train.nonfinite: skip",
        "non-finite loss at step {} (this rank's loss: {}); stopping", step + 1, local_loss);
    optimizer.zero_grad();
    return out;
  }
  out.grad_norm = task_.clip_gradients(params, tc.clip_norm);
  optimizer.step(lr);
  optimizer.zero_grad();
  return out;
}

void Trainer::log_step(int64_t step, double lr, const StepOutcome& s, int64_t skipped,
                       double window_tokens, double window_s, double trained_s,
                       std::ofstream& metrics, ProgressBar& bar) {
  const auto& tc = config_.train;
  // The loss terms and the token count of every rank in one collective.
  std::vector<std::string> keys;
  std::vector<double> values;
  if (!s.parts.empty()) {
    // One device for the stack: a task may leave an absent term as a CPU zero.
    auto device = s.parts.begin()->second.device();
    for (const auto& [k, v] : s.parts)
      if (!v.device().is_cpu()) device = v.device();
    std::vector<torch::Tensor> terms;
    for (const auto& [k, v] : s.parts) {
      keys.push_back(k);
      terms.push_back(v.reshape({}).to(device));
    }
    auto host = torch::stack(terms).cpu();
    values.assign(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
  }
  values.push_back(window_tokens);
  comm_->allreduce_values(values, dist::ReduceOp::Sum);
  const double tps = values.back() / std::max(window_s, 1e-9);
  nlohmann::json line = {{"step", step + 1},         {"loss", s.loss},      {"lr", lr},
                         {"grad_norm", s.grad_norm}, {"tokens_per_s", tps}, {"skipped", skipped}};
  for (size_t i = 0; i < keys.size(); ++i) line[keys[i]] = values[i] / comm_->size();
  if (!comm_->is_root()) return;
  line["time_s"] = trained_s;
  metrics << line.dump() << "\n";
  metrics.flush();
  std::string status = fmt::format("loss {:.4f} lr {:.2e} {:.0f} tok/s", s.loss, lr, tps);
  if (!options_.label.empty())
    log_all("train", "{}: step {}/{} {}", options_.label, step + 1, tc.steps, status);
  else if (bar.active())
    bar.update(step + 1, status);
  else
    log_info("train", "step {}/{} {}", step + 1, tc.steps, status);
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
    result.last_loss = last_loss_;
    result.last_checkpoint = *ckpt;
    note(fmt::format("resumed from {} at step {}", *ckpt, result.start_step));
  } else if (auto initial = task_.initial_optimizer_state(); !initial.empty()) {
    optimizer.load_state(initial);
  }
  dist::GradReducerOptions reduce_options;
  reduce_options.bucket_mb = config_.dist.bucket_mb;
  reduce_options.first_bucket_mb = config_.dist.first_bucket_mb;
  reduce_options.bf16_wire = config_.dist.grad_bf16;
  DeferredLookups deferred(config_.dist.defer_embedding_grad && comm_->size() > 1
                               ? task_.tied_lookup_tables()
                               : std::vector<model::EmbeddingTable>{},
                           tensors, reduce_options);
  dist::GradReducer reducer(comm_, tensors, reduce_options);
  if (!reduce_options.deferred.empty() || reduce_options.bf16_wire)
    note(
        fmt::format("gradient reduction: {} tied embedding table(s) with deferred lookup rows, "
                    "{} all-reduce",
                    reduce_options.deferred.size(), reduce_options.bf16_wire ? "bf16" : "fp32"));

  const bool root = comm_->is_root();
  std::ofstream metrics;
  if (root) {
    // A run directory the caller did not create (e.g. a schuBERT phase) is made here, so that
    // its metrics are not lost.
    fs::create_directories(config_.run_dir);
    const auto path = (fs::path(config_.run_dir) / "metrics.jsonl").string();
    truncate_metrics_after(path, result.start_step);
    metrics.open(path, std::ios::app);
    KD_CHECK_HINT(metrics.is_open(), "check that run_dir is writable", "cannot write {}", path);
  }
  ProgressBar bar(tc.steps, root && options_.label.empty());
  double trained_s = 0;
  int64_t tokens_total = 0;
  int64_t step = result.start_step;
  result.end_step = step;
  auto window_start = Clock::now();
  int64_t window_tokens = 0;

  for (; step < tc.steps; ++step) {
    // 1-based, as in the progress lines: what a crash line and a stall report name.
    set_crash_step(step + 1);
    dist::watchdog_set_step(step + 1);
    auto t0 = Clock::now();
    const double lr = learning_rate(tc.schedule, tc.optimizer.lr, step, tc.steps);
    StepOutcome s = step_mechanics(step, lr, optimizer, reducer, params);
    if (s.nonfinite) {
      ++result.skipped_steps;
      log_warn("train", "step {}: non-finite loss, update skipped ({} so far)", step + 1,
               result.skipped_steps);
      KD_CHECK(result.skipped_steps <= tc.max_skipped,
               "{} steps skipped for non-finite losses (train.max_skipped = {}); stopping",
               result.skipped_steps, tc.max_skipped);
    } else {
      task_.after_step(step + 1);
    }
    trained_s += std::chrono::duration<double>(Clock::now() - t0).count();
    tokens_total += s.tokens;
    window_tokens += s.tokens;
    result.losses.push_back(s.loss);
    result.last_loss = last_loss_ = s.loss;
    result.end_step = step + 1;
    for (const auto& hook : options_.step_hooks) hook(step + 1, s.loss);

    if ((step + 1) % tc.log_every == 0 || step + 1 == tc.steps) {
      const double window_s = std::chrono::duration<double>(Clock::now() - window_start).count();
      log_step(step, lr, s, result.skipped_steps, static_cast<double>(window_tokens), window_s,
               trained_s, metrics, bar);
      window_start = Clock::now();
      window_tokens = 0;
    }
    const bool periodic = tc.checkpoint_every > 0 && (step + 1) % tc.checkpoint_every == 0;
    if (s.stop || periodic) result.last_checkpoint = save_checkpoint(step + 1, optimizer);
    if (s.stop) {
      note(fmt::format("stop signal received: checkpointed at step {}, exiting", step + 1));
      result.stopped_by_signal = true;
      break;
    }
  }
  bar.finish();
  set_crash_step(-1);
  dist::watchdog_set_step(-1);
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
    // debug.checkpoint_fault: the process dies (SIGKILL) right after the named point of this
    // checkpoint's writing (the fault-injection tests).
    const auto fault_point = [&](const char* point) {
      if (point == config_.debug.checkpoint_fault && step >= config_.debug.checkpoint_fault_step)
        std::raise(SIGKILL);
    };
    fs::path tmp = final_dir.string() + ".tmp";
    try {
      fs::remove_all(tmp);
      fs::create_directories(tmp);
      task_.save_model((tmp / "model").string());
      fault_point("model");
      model::save_safetensors((tmp / "optimizer.safetensors").string(), optimizer.state());
      fault_point("optimizer");
      const bool slots = options_.data_world > 0;
      nlohmann::json state = {
          {"step", step},
          {"world_size", comm_->size()},
          {"data_world", slots ? options_.data_world : comm_->size()},
          {"data_accum", slots ? options_.data_accum : config_.train.grad_accum},
          {"last_loss", last_loss_},
          {"ranks", nlohmann::json::array()}};
      for (const auto& s : states) state["ranks"].push_back(nlohmann::json::parse(s));
      write_file_atomic((tmp / "config.yaml").string(), config_yaml_);
      fault_point("config");
      write_file_atomic((tmp / "trainer_state.json").string(), state.dump(1));
      fault_point("state");
      publish_checkpoint(tmp.string(), final_dir.string(), fault_point);
      fault_point("latest");
    } catch (const std::exception& e) {
      // A full disk (or any write error): the half-written directory goes, `latest` still names
      // the previous checkpoint, and the error says so.
      std::error_code ignored;
      fs::remove_all(tmp, ignored);
      const auto previous = find_resume_checkpoint(config_.run_dir, "auto");
      KD_FAIL(
          "writing checkpoint {} failed: {}\n  the previous checkpoint {} is intact; free space "
          "on that disk (or point run_dir elsewhere) and rerun to resume from it",
          final_dir.string(), e.what(), previous ? *previous : std::string("(none)"));
    }
    prune_checkpoints(config_.run_dir, config_.train.keep_checkpoints);
    note(fmt::format("checkpoint {}", final_dir.string()));
  }
  comm_->barrier();
  return final_dir.string();
}

int64_t Trainer::load_checkpoint(const std::string& dir, Optimizer& optimizer) {
  auto state = read_json_file((fs::path(dir) / "trainer_state.json").string(),
                              "resume from another checkpoint (resume: PATH) or set resume: never");
  const int world = state.at("world_size").get<int>();
  const bool same_world = world == comm_->size();
  // Another rank count: only for data-slot tasks whose layout the caller took from this
  // checkpoint (plan_data_slots), so the micro-batches of every step stay the same.
  KD_CHECK_HINT(same_world || (options_.data_world > 0 &&
                               state.value("data_world", -1) == options_.data_world &&
                               state.value("data_accum", int64_t{-1}) == options_.data_accum),
                "resume with the same number of ranks, or set resume: never",
                "checkpoint {} was written by {} ranks but this job has {} (only pretrain and "
                "distill checkpoints from this version on resume on another number of ranks)",
                dir, world, comm_->size());
  task_.load_model((fs::path(dir) / "model").string());
  auto opt = model::load_safetensors((fs::path(dir) / "optimizer.safetensors").string());
  optimizer.load_state({opt.begin(), opt.end()});
  // On another rank count every rank continues from rank 0's task state: a slot task's data
  // cursor is the same on every rank (the global sample cursor).
  const auto& mine = state.at("ranks").at(same_world ? comm_->rank() : 0);
  if (same_world) set_cpu_rng_state_hex(mine.at("rng").get<std::string>());
  task_.load_rank_state(mine.at("task"));
  last_loss_ = state.value("last_loss", 0.0);
  return state.at("step").get<int64_t>();
}

}  // namespace kd::train

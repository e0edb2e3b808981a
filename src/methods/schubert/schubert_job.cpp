// `kdprune schubert`: prune rounds from a pre-trained model down to a parameter budget.
//
// Run directory (each piece written atomically, so a rerun with resume: auto continues from
// the first missing piece; a phase cut short resumes from its own checkpoints):
//   schedule.json                 what the run prunes (a rerun with another schedule is refused)
//   round_00/round.json           the start model's held-out score
//   round_RR/regularise/          α-only training (Trainer run dir; its checkpoints hold the α)
//   round_RR/decision.json        the kept units (broadcast by rank 0)
//   round_RR/pruned/              the model right after surgery (a model directory)
//   round_RR/finetune/            MLM + NSP fine-tuning (Trainer run dir)
//   round_RR/model/               the round's result; round_RR/round.json its log line
//   rounds.jsonl, model/          all round lines; the final model
#include <filesystem>
#include <fstream>

#include "common/check.h"
#include "common/config_io.h"
#include "common/file_io.h"
#include "common/json_file.h"
#include "common/log.h"
#include "common/signals.h"
#include "methods/inference/eval_mlm.h"
#include "methods/input_checks.h"
#include "methods/job_setup.h"
#include "methods/pretrain/pretrain_task.h"
#include "methods/schubert/prune_consensus.h"
#include "methods/schubert/regularise_task.h"
#include "methods/schubert/schubert_config.h"
#include "methods/training_command.h"
#include "model/model_dir.h"
#include "model/safetensors.h"
#include "train/checkpoint.h"

namespace kd::methods {
namespace fs = std::filesystem;
using namespace schubert;
using Clock = std::chrono::steady_clock;

void SchubertConfig::validate() const {
  train::JobConfig::validate();
  KD_CHECK_HINT(!model.dir.empty(), "set model.dir to the model directory to prune",
                "model.dir is empty");
  KD_CHECK_HINT(!data.train.empty(), "set data.train to HDF5 shard globs", "data.train is empty");
  variant_dims(schubert.variant);
  KD_CHECK(schubert.rounds >= 1, "schubert.rounds must be >= 1 (got {})", schubert.rounds);
  KD_CHECK(schubert.target_params >= 0, "schubert.target_params must be >= 0");
  KD_CHECK(
      schubert.target_params > 0 || (schubert.target_fraction > 0 && schubert.target_fraction < 1),
      "schubert.target_fraction must be in (0, 1) when target_params is 0 (got {})",
      schubert.target_fraction);
  KD_CHECK(schubert.optimizer_state == "slice" || schubert.optimizer_state == "rebuild",
           "schubert.optimizer_state must be slice or rebuild (got '{}')",
           schubert.optimizer_state);
  KD_CHECK(schubert.regularise.steps >= 0, "schubert.regularise.steps must be >= 0");
  KD_CHECK(schubert.regularise.lr > 0, "schubert.regularise.lr must be > 0");
  KD_CHECK(schubert.regularise.lambda >= 0, "schubert.regularise.lambda must be >= 0");
  KD_CHECK_HINT(resume == "auto" || resume == "never",
                "a schubert run resumes from its run_dir: set resume: auto (or never to restart)",
                "resume must be auto or never for schubert (got '{}')", resume);
  KD_CHECK(data.eval_batches >= 0, "data.eval_batches must be >= 0");
}

namespace {

struct RoundPaths {
  fs::path dir, regularise, decision, pruned, finetune, model, log;
};

RoundPaths round_paths(const std::string& run_dir, int64_t r) {
  fs::path d = fs::path(run_dir) / fmt::format("round_{:02d}", r);
  return {d,           d / "regularise", d / "decision.json", d / "pruned", d / "finetune",
          d / "model", d / "round.json"};
}

bool model_dir_complete(const fs::path& dir) {
  return fs::exists(dir / "config.json") && fs::exists(dir / "model.safetensors");
}

// Fine-tuning = pre-training from the pruned model, optionally with carried moments.
class FinetuneTask : public PretrainTask {
 public:
  FinetuneTask(const PretrainConfig& config, int rank, int world, train::NamedTensors initial)
      : PretrainTask(config, rank, world), initial_(std::move(initial)) {}
  train::NamedTensors initial_optimizer_state() override { return initial_; }

 private:
  train::NamedTensors initial_;
};

class SchubertRun {
 public:
  SchubertRun(const SchubertConfig& config, JobContext& ctx)
      : c_(config), ctx_(ctx), comm_(*ctx.comm), dims_(variant_dims(config.schubert.variant)) {}

  int run();

 private:
  PretrainConfig phase_config(const fs::path& run_dir, const std::string& init_from, int64_t steps,
                              int64_t step_offset, uint64_t stream) const;
  bool has_regularise() const { return !dims_.empty() && c_.schubert.regularise.steps > 0; }
  int64_t steps_per_round() const {
    return (has_regularise() ? c_.schubert.regularise.steps : 0) + c_.train.steps;
  }
  void check_schedule();
  nlohmann::json score(const std::string& model_dir);
  bool run_phase(PretrainConfig phase, train::TrainingTask& task);
  void prune_step(int64_t r, const std::string& start, int64_t round_target, bool& stopped);
  void finetune(int64_t r, const std::string& start, bool& stopped);
  void print_report(const std::string& final_model);

  SchubertConfig c_;
  JobContext& ctx_;
  dist::Communicator& comm_;
  std::set<Dim> dims_;
  int64_t start_params_ = 0, target_ = 0;
  train::TrainResult total_;  // all phases run by this process
  double tokens_ = 0;
};

PretrainConfig SchubertRun::phase_config(const fs::path& run_dir, const std::string& init_from,
                                         int64_t steps, int64_t step_offset,
                                         uint64_t stream) const {
  PretrainConfig p;
  static_cast<train::JobConfig&>(p) = c_;
  p.model = c_.model;
  p.model.dir = init_from;
  p.data = c_.data;
  p.run_dir = run_dir.string();
  p.resume = "auto";
  p.seed = train::derive_seed(c_.seed, stream);  // each phase reads its own batches
  p.train.steps = steps;
  // debug.stop_after_step counts the steps of all phases in schedule order.
  const int64_t stop = c_.debug.stop_after_step - step_offset;
  p.debug.stop_after_step = stop >= 1 && stop <= steps ? stop : -1;
  return p;
}

void SchubertRun::check_schedule() {
  const fs::path path = fs::path(c_.run_dir) / "schedule.json";
  nlohmann::json mine = {
      {"init_from", c_.model.dir},       {"variant", c_.schubert.variant},
      {"start_params", start_params_},   {"target_params", target_},
      {"rounds", c_.schubert.rounds},    {"regularise_steps", c_.schubert.regularise.steps},
      {"finetune_steps", c_.train.steps}};
  if (c_.resume == "never" && comm_.is_root()) {
    for (const auto& e : fs::directory_iterator(c_.run_dir))
      if (e.path().filename().string().rfind("round_", 0) == 0) fs::remove_all(e.path());
    fs::remove_all(fs::path(c_.run_dir) / "model");
    fs::remove(fs::path(c_.run_dir) / "rounds.jsonl");
    fs::remove(path);
  }
  comm_.barrier();
  if (fs::exists(path)) {
    auto old = read_json_file(path.string());
    KD_CHECK_HINT(old == mine, "use a new run_dir, or set resume: never to start this run_dir over",
                  "{} was written for another schedule:\n  there: {}\n  now:   {}", path.string(),
                  old.dump(), mine.dump());
  }
  comm_.barrier();
  if (comm_.is_root()) write_file_atomic(path.string(), mine.dump(1));
  comm_.barrier();
}

// Held-out MLM accuracy of a model directory (fp32, every rank scores a share).
nlohmann::json SchubertRun::score(const std::string& model_dir) {
  auto cfg = model::load_config(model_dir);
  nlohmann::json j = {{"params", cfg.num_parameters()}, {"model", model_dir}};
  if (c_.data.heldout.empty()) return j;
  auto m = model::load_model_dir(model_dir);
  if (c_.device == "cuda") m->to(torch::kCUDA);
  auto r = evaluate_mlm(m, c_.data.heldout, c_.data.batch_size, c_.data.eval_batches, comm_);
  j["heldout_mlm_acc"] = r.accuracy();
  j["heldout_mlm_loss"] = r.mean_loss();
  j["heldout_masked"] = r.masked;
  return j;
}

bool SchubertRun::run_phase(PretrainConfig phase, train::TrainingTask& task) {
  train::Trainer trainer(phase, config::to_yaml(phase), ctx_.comm, task);
  auto r = trainer.run();
  total_.end_step += r.end_step - r.start_step;
  tokens_ += r.tokens_per_s * r.wall_s;
  total_.wall_s += r.wall_s;
  total_.tokens_per_s = tokens_ / std::max(total_.wall_s, 1e-9);
  total_.skipped_steps += r.skipped_steps;
  total_.losses.insert(total_.losses.end(), r.losses.begin(), r.losses.end());
  total_.last_loss = r.last_loss;
  total_.last_checkpoint = r.last_checkpoint;
  total_.stopped_by_signal = r.stopped_by_signal;
  return !r.stopped_by_signal;
}

void SchubertRun::prune_step(int64_t r, const std::string& start, int64_t round_target,
                             bool& stopped) {
  const RoundPaths p = round_paths(c_.run_dir, r);
  const auto start_cfg = model::load_config(start);
  model::BertForPreTraining m{nullptr};
  PruningVectors alpha;
  if (has_regularise()) {
    auto phase = phase_config(p.regularise, start, c_.schubert.regularise.steps,
                              (r - 1) * steps_per_round(), 2 * static_cast<uint64_t>(r));
    phase.train.optimizer.name = "adamw";
    phase.train.optimizer.lr = c_.schubert.regularise.lr;
    phase.train.optimizer.weight_decay = 0;
    phase.train.schedule = {};
    phase.train.schedule.kind = "constant";
    phase.train.clip_norm = 0;
    log_info("schubert", "round {}/{}: regularising α ({} steps, {} dims)", r, c_.schubert.rounds,
             phase.train.steps, dims_.size());
    RegulariseTask task(phase, dims_, c_.schubert.regularise.lambda, comm_.rank(), comm_.size());
    if (!run_phase(phase, task)) {
      stopped = true;
      return;
    }
    m = task.model();
    alpha = task.alpha();
  } else {
    m = model::load_model_dir(start);
    alpha = PruningVectors(start_cfg, dims_);  // all 1: uniform keeps the first units
    alpha.attach(m);
  }
  auto decision = agree_on_decision(comm_, start_cfg, alpha, c_.schubert.variant, round_target);
  apply_decision(m, decision, dims_.empty() ? nullptr : &alpha);
  verify_same_model(comm_, m, fmt::format("round {}", r));
  const int64_t counted = [&] {
    int64_t n = 0;
    for (const auto& t : m->parameters()) n += t.numel();
    return n;
  }();
  KD_CHECK(counted == decision.apply_to(start_cfg).num_parameters(),
           "round {}: the pruned model has {} parameters but the decision planned {}", r, counted,
           decision.apply_to(start_cfg).num_parameters());
  log_info("schubert", "round {}/{}: pruned {} → {} parameters (round target {})", r,
           c_.schubert.rounds, start_cfg.num_parameters(), counted, round_target);
  if (comm_.is_root()) {
    fs::create_directories(p.dir);
    write_file_atomic(p.decision.string(), decision.to_json().dump());
    model::save_model_dir(p.pruned.string(), m, c_.model.vocab);
  }
  comm_.barrier();
}

void SchubertRun::finetune(int64_t r, const std::string& start, bool& stopped) {
  const RoundPaths p = round_paths(c_.run_dir, r);
  train::NamedTensors initial;
  const auto prev = round_paths(c_.run_dir, r - 1).finetune;
  if (c_.schubert.optimizer_state == "slice" && r > 1 &&
      !train::find_resume_checkpoint(p.finetune.string(), "auto")) {
    auto ckpt = train::find_resume_checkpoint(prev.string(), "auto");
    KD_CHECK_HINT(ckpt.has_value(), "set schubert.optimizer_state: rebuild",
                  "round {}: no fine-tune checkpoint in {} to slice the optimizer moments from", r,
                  prev.string());
    auto state = model::load_safetensors(*ckpt + "/optimizer.safetensors");
    auto decision =
        PruneDecision::from_json(read_json_file(p.decision.string()), p.decision.string());
    initial = slice_optimizer_state(model::load_config(start), decision,
                                    train::NamedTensors(state.begin(), state.end()));
  }
  auto phase = phase_config(
      p.finetune, p.pruned.string(), c_.train.steps,
      (r - 1) * steps_per_round() + (has_regularise() ? c_.schubert.regularise.steps : 0),
      2 * static_cast<uint64_t>(r) + 1);
  log_info("schubert", "round {}/{}: fine-tuning ({} steps, optimizer moments {})", r,
           c_.schubert.rounds, phase.train.steps, initial.empty() ? "fresh" : "sliced");
  FinetuneTask task(phase, comm_.rank(), comm_.size(), std::move(initial));
  if (!run_phase(phase, task)) {
    stopped = true;
    return;
  }
  if (comm_.is_root()) model::save_model_dir(p.model.string(), task.model(), c_.model.vocab);
  comm_.barrier();
}

int SchubertRun::run() {
  // Checked now rather than when round 1's model is saved, minutes into the run.
  KD_CHECK_HINT(fs::is_regular_file(c_.model.vocab),
                "set model.vocab to the vocab.txt that goes with model.dir",
                "model.vocab: cannot read '{}' (it is copied into every model directory written)",
                c_.model.vocab);
  start_params_ = model::load_config(c_.model.dir).num_parameters();
  target_ = c_.schubert.target_params > 0
                ? c_.schubert.target_params
                : static_cast<int64_t>(std::llround(c_.schubert.target_fraction * start_params_));
  KD_CHECK_HINT(target_ < start_params_, "lower schubert.target_params",
                "schubert: target {} parameters is not below the start model's {}", target_,
                start_params_);
  check_schedule();
  log_info("schubert",
           "variant {} · {} → {} parameters in {} round(s) of {} regularise + {} "
           "fine-tune steps",
           c_.schubert.variant, start_params_, target_, c_.schubert.rounds,
           has_regularise() ? c_.schubert.regularise.steps : 0, c_.train.steps);

  auto write_round_log = [&](const RoundPaths& p, nlohmann::json line) {
    if (comm_.is_root()) write_file_atomic(p.log.string(), line.dump());
    comm_.barrier();
  };
  const RoundPaths r0 = round_paths(c_.run_dir, 0);
  if (!fs::exists(r0.log)) {
    auto line = score(c_.model.dir);
    line["round"] = 0;
    if (comm_.is_root()) fs::create_directories(r0.dir);
    write_round_log(r0, line);
  }

  std::string current = c_.model.dir;
  const int64_t per_round = (start_params_ - target_) / c_.schubert.rounds;
  bool stopped = false;
  for (int64_t r = 1; r <= c_.schubert.rounds; ++r) {
    comm_.barrier();
    const RoundPaths p = round_paths(c_.run_dir, r);
    if (!fs::exists(p.log)) {
      const auto t0 = Clock::now();
      const int64_t round_target =
          r == c_.schubert.rounds ? target_ : std::max(target_, start_params_ - r * per_round);
      const int64_t before = model::load_config(current).num_parameters();
      if (!model_dir_complete(p.pruned)) prune_step(r, current, round_target, stopped);
      if (!stopped && !model_dir_complete(p.model)) finetune(r, current, stopped);
      if (stopped) break;
      auto line = score(p.model.string());
      line["round"] = r;
      line["round_target"] = round_target;
      line["params_before"] = before;
      line["seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
      line["dims"] = model::load_config(p.model.string()).to_json();
      write_round_log(p, line);
      log_info("schubert", "round {}/{} done: {} parameters{}", r, c_.schubert.rounds,
               line["params"].get<int64_t>(),
               line.contains("heldout_mlm_acc") ? fmt::format(", held-out MLM accuracy {:.4f}",
                                                              line["heldout_mlm_acc"].get<double>())
                                                : "");
    }
    current = p.model.string();
    if (model::load_config(current).num_parameters() <= target_) break;
  }
  if (!stopped) {
    comm_.barrier();
    if (comm_.is_root()) {
      std::string lines;
      for (int64_t r = 0; r <= c_.schubert.rounds; ++r)
        if (auto p = round_paths(c_.run_dir, r); fs::exists(p.log))
          lines += read_file(p.log.string()) + "\n";
      write_file_atomic((fs::path(c_.run_dir) / "rounds.jsonl").string(), lines);
      auto final_model = model::load_model_dir(current);
      model::save_model_dir((fs::path(c_.run_dir) / "model").string(), final_model, c_.model.vocab);
      print_report((fs::path(c_.run_dir) / "model").string());
    }
    comm_.barrier();
  }
  const int64_t final_params = model::load_config(current).num_parameters();
  write_summary(ctx_, c_, "schubert", total_,
                {{"variant", c_.schubert.variant},
                 {"start_parameters", start_params_},
                 {"parameters", final_params},
                 {"target_parameters", target_},
                 {"model", (fs::path(c_.run_dir) / "model").string()}});
  return stopped ? kExitCheckpointedOnSignal : 0;
}

void SchubertRun::print_report(const std::string& final_model) {
  std::string text = "\n== schubert rounds ==\n";
  text += fmt::format("{:>5}  {:>12}  {:>12}  {:>10}  {:>8}\n", "round", "target", "parameters",
                      "held-out", "seconds");
  for (int64_t r = 0; r <= c_.schubert.rounds; ++r) {
    auto p = round_paths(c_.run_dir, r);
    if (!fs::exists(p.log)) continue;
    auto j = read_json_file(p.log.string());
    text += fmt::format(
        "{:>5}  {:>12}  {:>12}  {:>10}  {:>8}\n", r,
        j.contains("round_target") ? std::to_string(j["round_target"].get<int64_t>()) : "-",
        j.at("params").get<int64_t>(),
        j.contains("heldout_mlm_acc") ? fmt::format("{:.4f}", j["heldout_mlm_acc"].get<double>())
                                      : "-",
        j.contains("seconds") ? fmt::format("{:.0f}", j["seconds"].get<double>()) : "-");
  }
  text += "\n== pruned model (" + final_model + ") ==\n" +
          model::describe_config(model::load_config(final_model));
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

int run_schubert(const SchubertConfig& config, std::shared_ptr<dist::Communicator> comm) {
  config.validate();  // also when called as a library function with a config made in code
  require_model_dir("model.dir", config.model.dir);
  require_file("model.vocab", config.model.vocab);
  require_globs("data.train", config.data.train);
  require_globs("data.heldout", config.data.heldout, /*required=*/false);
  JobContext ctx = setup_job(config, config::to_yaml(config), "schubert", std::move(comm));
  SchubertRun run(config, ctx);
  return run.run();
}

KD_COMMAND("kdprune", "schubert",
           "schuBERT: prune heads, q/k and v sizes, filter and hidden size to a parameter budget",
           training_command<SchubertConfig>(run_schubert));

}  // namespace kd::methods

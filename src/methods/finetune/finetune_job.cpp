// `kdprune finetune`: every combination of finetune.models × finetune.tasks × finetune.seeds is
// one independent fine-tuning run (a SequenceClassifier trained through the Trainer, the best
// dev checkpoint kept, test scored and predicted with it); runs are spread over rank groups of
// the world as relmask spreads relations (probing/relation_runner.h), each group trains its runs
// data-parallel one after another, and rank 0 gathers every run's result into one report
// (finetune_report.json + a table): mean ± sd over seeds per model and task, beside each task's
// majority-class baseline. A stop signal checkpoints the running runs (exit 85); a re-run keeps
// finished runs and resumes the others.
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "common/config_io.h"
#include "common/file_io.h"
#include "common/log.h"
#include "common/signals.h"
#include "methods/finetune/downstream_task.h"
#include "methods/finetune/finetune_config.h"
#include "methods/finetune/finetune_report.h"
#include "methods/finetune/finetune_task.h"
#include "methods/input_checks.h"
#include "methods/job_setup.h"
#include "methods/pretrain/pretrain_task.h"
#include "methods/probing/probe_sets.h"
#include "methods/probing/relation_runner.h"
#include "methods/training_command.h"
#include "model/model_dir.h"
#include "train/trainer.h"

namespace kd::methods {
namespace fs = std::filesystem;
using finetune::DownstreamTask;
namespace {

constexpr const char* kRandomPrefix = "random:";

struct ModelEntry {
  std::string label, dir;
  bool random_init = false;
};

// A model's report name: the first directory name on its path that is not one of the generic
// names kdprune gives model directories (runs/<job>/model, .../checkpoints/step_N/model, best).
std::string label_from_path(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  auto generic = [](const std::string& n) {
    return n == "model" || n == "best" || n == "final" || n == "latest" || n == "checkpoints" ||
           n.rfind("step_", 0) == 0;
  };
  for (fs::path q = p; !q.filename().empty(); q = q.parent_path())
    if (!generic(q.filename().string())) return q.filename().string();
  return p.filename().string();
}

std::vector<ModelEntry> model_entries(const FinetuneSection& f) {
  std::vector<ModelEntry> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < f.models.size(); ++i) {
    ModelEntry m;
    m.dir = f.models[i];
    if (m.dir.rfind(kRandomPrefix, 0) == 0) {
      m.dir = m.dir.substr(std::string(kRandomPrefix).size());
      m.random_init = true;
    }
    m.label =
        !f.labels.empty() ? f.labels[i] : label_from_path(m.dir) + (m.random_init ? "-random" : "");
    const std::string base = m.label;
    for (int k = 2; seen.count(m.label); ++k) m.label = base + "-" + std::to_string(k);
    seen.insert(m.label);
    out.push_back(m);
  }
  return out;
}

// The model to fine-tune: the directory's weights (or a fresh init of its architecture) with the
// configured dropout.
model::BertForPreTraining load_for_finetuning(const ModelEntry& m, double dropout, uint64_t seed) {
  auto set_dropout = [dropout](model::BertConfig& cfg) {
    cfg.hidden_dropout_prob = dropout;
    cfg.attention_probs_dropout_prob = dropout;
  };
  if (!m.random_init) return model::load_model_dir(m.dir, set_dropout);
  auto cfg = model::load_config(m.dir);
  set_dropout(cfg);
  model::BertForPreTraining bert(cfg);
  bert->init_weights(seed);
  return bert;
}

int64_t run_steps(const FinetuneConfig& c, int64_t examples, int ranks) {
  return steps_for_epochs(c.finetune.epochs, examples,
                          c.finetune.batch_size * ranks * c.train.grad_accum, c.train.steps);
}

struct RunPlan {
  std::string name;
  size_t model = 0, task = 0;
  int64_t seed = 0;
};

void write_predictions(const std::string& path, const DownstreamTask& task,
                       const finetune::EvalSet& set, const std::vector<double>& predicted) {
  std::string text = "index\tprediction\n";
  for (size_t i = 0; i < predicted.size(); ++i) {
    const auto& id = set.split.examples[i].id;
    const std::string value = task.spec.regression()
                                  ? fmt::format("{:.3f}", predicted[i])
                                  : task.spec.labels[static_cast<size_t>(predicted[i])];
    text += id + "\t" + value + "\n";
  }
  write_file_atomic(path, text);
}

// Trains one run on its group and returns its result, or nothing when a stop signal ended it.
std::optional<nlohmann::json> train_run(const FinetuneConfig& c, const std::string& config_yaml,
                                        const RunPlan& plan, const ModelEntry& m,
                                        const DownstreamTask& task,
                                        const probing::RelationContext& ctx) {
  auto& group = *ctx.group;
  const uint64_t seed = static_cast<uint64_t>(plan.seed);
  auto tok = text::WordPieceTokenizer::from_vocab_file(m.dir + "/vocab.txt");
  auto bert = load_for_finetuning(m, c.finetune.dropout, seed);
  KD_CHECK_HINT(static_cast<int64_t>(tok.vocab_size()) <= bert->config().vocab_size,
                "the model directory's vocab.txt must be the vocabulary it was trained with",
                "{}: vocab.txt has {} entries but config.json's vocab_size is {}", m.dir,
                tok.vocab_size(), bert->config().vocab_size);
  prepare_for_training(bert, c);
  model::SequenceClassifier classifier(bert, task.num_outputs(), c.finetune.dropout,
                                       train::derive_seed(seed, 0xC1A5));
  const int64_t max_len =
      std::min(c.finetune.max_seq_length, bert->config().max_position_embeddings);
  const auto train_set = finetune::encode_examples(tok, task.train.examples, max_len);
  std::vector<finetune::EncodedSet> eval_sets;
  for (const auto& e : task.evals)
    eval_sets.push_back(finetune::encode_examples(tok, e.split.examples, max_len));

  const int64_t n = static_cast<int64_t>(train_set.examples.size());
  const int64_t steps = run_steps(c, n, group.size());
  const int64_t per_epoch =
      std::max<int64_t>(1, n / (c.finetune.batch_size * group.size() * c.train.grad_accum));
  const fs::path dir = fs::path(c.run_dir) / ctx.units_dir / plan.name;
  finetune::FinetuneRunSpec spec;
  spec.label = plan.name;
  spec.task = &task;
  spec.train = &train_set;
  spec.dev = &eval_sets.front();
  spec.batch_size = c.finetune.batch_size;
  spec.eval_batch_size = c.finetune.eval_batch_size;
  spec.eval_every = c.finetune.eval_every > 0 ? c.finetune.eval_every : per_epoch;
  spec.steps = steps;
  spec.order_seed = train::derive_seed(seed, 0x0DE5);
  spec.pad_id = bert->config().pad_token_id;
  spec.best_dir = (dir / "best").string();
  spec.vocab = m.dir + "/vocab.txt";
  if (group.is_root())
    log_all("finetune", "{}: {} training examples ({} truncated to {} tokens), {} steps", plan.name,
            n, train_set.truncated, max_len, steps);
  finetune::FinetuneTask ft(classifier, spec, ctx.group);
  const auto trained =
      probing::train_relation_steps(c, config_yaml, plan.name, steps, seed, ctx, ft);
  if (trained.stopped_by_signal) return std::nullopt;
  ft.evaluate_if_needed(trained.end_step);

  // Test (and every other set) with the best dev checkpoint.
  model::load_classifier_weights(spec.best_dir, classifier);
  nlohmann::json evals = nlohmann::json::object();
  if (group.is_root()) fs::create_directories(dir / "predictions");
  for (size_t i = 0; i < task.evals.size(); ++i) {
    const auto& set = task.evals[i];
    const auto predicted =
        finetune::predict(classifier, eval_sets[i], c.finetune.eval_batch_size, spec.pad_id, group);
    if (set.labelled) {
      std::vector<double> gold;
      for (const auto& e : set.split.examples) gold.push_back(e.label);
      evals[set.name] = finetune::score_predictions(task.spec, predicted, gold);
    }
    if (group.is_root() && !set.prediction_file.empty())
      write_predictions((dir / "predictions" / set.prediction_file).string(), task, set, predicted);
  }
  return nlohmann::json{{"run", plan.name},
                        {"model", m.label},
                        {"model_dir", m.dir},
                        {"random_init", m.random_init},
                        {"task", task.name},
                        {"seed", plan.seed},
                        {"steps", steps},
                        {"ranks", group.size()},
                        {"train_examples", n},
                        {"truncated", train_set.truncated},
                        {"best_step", ft.best()["step"]},
                        {"evals", evals},
                        {"evaluations", ft.evaluations()},
                        {"last_loss", trained.last_loss},
                        {"wall_s", trained.wall_s},
                        {"tokens_per_s", trained.tokens_per_s},
                        {"best_model", spec.best_dir}};
}

}  // namespace

void FinetuneSection::validate() const {
  KD_CHECK_HINT(!models.empty(), "list model directories: finetune.models: [runs/quickstart/model]",
                "finetune.models is empty");
  KD_CHECK_HINT(!tasks.empty(),
                "list task directories: finetune.tasks: [data/tasks/wn_supersense] (kdprune-prep "
                "tasks) or GLUE's own (glue_data/MRPC)",
                "finetune.tasks is empty");
  KD_CHECK(!seeds.empty(), "finetune.seeds is empty; give at least one seed");
  KD_CHECK(std::set<int64_t>(seeds.begin(), seeds.end()).size() == seeds.size(),
           "finetune.seeds lists a seed twice");
  for (auto s : seeds) KD_CHECK(s >= 0, "finetune.seeds: {} is negative", s);
  KD_CHECK(labels.empty() || labels.size() == models.size(),
           "finetune.labels has {} names for {} models (leave it empty for names from the paths)",
           labels.size(), models.size());
  KD_CHECK(std::set<std::string>(labels.begin(), labels.end()).size() == labels.size(),
           "finetune.labels names a model twice; each model needs its own name in the report");
  for (const auto& l : labels)
    KD_CHECK(!l.empty() && l.find('/') == std::string::npos,
             "finetune.labels: '{}' is not usable as a name (empty, or with a '/')", l);
  KD_CHECK(epochs >= 0, "finetune.epochs must be >= 0, got {}", epochs);
  KD_CHECK(batch_size > 0, "finetune.batch_size must be > 0, got {}", batch_size);
  KD_CHECK(eval_batch_size > 0, "finetune.eval_batch_size must be > 0, got {}", eval_batch_size);
  KD_CHECK(max_seq_length >= 4, "finetune.max_seq_length must be >= 4, got {}", max_seq_length);
  KD_CHECK(eval_every >= 0, "finetune.eval_every must be >= 0, got {}", eval_every);
  KD_CHECK(dropout >= 0 && dropout < 1, "finetune.dropout must be in [0, 1), got {}", dropout);
}

void FinetuneConfig::validate() const {
  train::JobConfig::validate();
  validate_relation_resume(resume);
  finetune.validate();
}

int run_finetune(const FinetuneConfig& config, std::shared_ptr<dist::Communicator> world) {
  config.validate();
  const auto models = model_entries(config.finetune);
  for (size_t i = 0; i < models.size(); ++i)
    require_model_dir(fmt::format("finetune.models[{}]", i), models[i].dir, /*with_vocab=*/true);
  for (size_t i = 0; i < config.finetune.tasks.size(); ++i)
    require_dir(fmt::format("finetune.tasks[{}]", i), config.finetune.tasks[i]);
  JobContext ctx = setup_job(config, config::to_yaml(config), "finetune", std::move(world));
  auto& comm = *ctx.comm;

  // Every task is read (and every bad row reported) before any training starts.
  std::vector<DownstreamTask> tasks;
  nlohmann::json task_info = nlohmann::json::object();
  for (const auto& dir : config.finetune.tasks) {
    tasks.push_back(finetune::load_downstream_task(dir));
    const auto& t = tasks.back();
    KD_CHECK_HINT(!task_info.contains(t.name), "list each task once",
                  "finetune.tasks: task '{}' appears twice ({})", t.name, dir);
    nlohmann::json sizes = {{"train", t.train.examples.size()}};
    bool test_labelled = false;
    for (const auto& e : t.evals) {
      sizes[e.name] = e.split.examples.size();
      test_labelled |= e.name == "test" && e.labelled;
    }
    task_info[t.name] = {{"dir", dir},
                         {"metric", t.spec.metric},
                         {"also", t.spec.also},
                         {"classes", t.spec.regression() ? 0 : t.spec.labels.size()},
                         {"sizes", sizes},
                         {"skipped_rows", t.train.skipped},
                         {"test_labelled", test_labelled},
                         {"majority", finetune::majority_baseline(t)}};
  }

  std::vector<RunPlan> plans;
  std::vector<std::string> names;
  std::vector<int64_t> work;
  for (size_t m = 0; m < models.size(); ++m) {
    const auto params = model::load_config(models[m].dir).num_parameters();
    for (size_t t = 0; t < tasks.size(); ++t)
      for (auto seed : config.finetune.seeds) {
        RunPlan p{fmt::format("{}.{}.s{}", models[m].label, tasks[t].name, seed), m, t, seed};
        plans.push_back(p);
        names.push_back(p.name);
        // Balance by examples processed × model size (both scale a run's time).
        double examples = static_cast<double>(tasks[t].train.examples.size()) *
                          std::max(1.0, config.finetune.epochs);
        for (const auto& e : tasks[t].evals) examples += e.split.examples.size() / 3.0;
        work.push_back(static_cast<int64_t>(examples * static_cast<double>(params) / 1e6) + 1);
      }
  }
  log_info("finetune", "{} model(s) × {} task(s) × {} seed(s) = {} runs", models.size(),
           tasks.size(), config.finetune.seeds.size(), plans.size());
  const auto outcome = probing::run_relations(
      names, work, comm, config.run_dir, "finetune",
      [&](const probing::RelationContext& rc) {
        const auto& p = plans[rc.index];
        return train_run(config, ctx.config_yaml, p, models[p.model], tasks[p.task], rc);
      },
      {"runs", "run"});
  if (outcome.stopped) return kExitCheckpointedOnSignal;
  if (comm.is_root()) {
    std::vector<std::string> labels;
    for (const auto& m : models) labels.push_back(m.label);
    const auto report = finetune::aggregate_runs(outcome.report, task_info, labels);
    const auto path = (fs::path(config.run_dir) / "finetune_report.json").string();
    write_file_atomic(path, report.dump(1) + "\n");
    const auto table = finetune::report_table(report);
    write_file_atomic((fs::path(config.run_dir) / "finetune_report.txt").string(), table);
    std::printf("\n== finetune: mean ± sd over seeds %s ==\n%s",
                nlohmann::json(config.finetune.seeds).dump().c_str(), table.c_str());
    std::printf("report: %s · runs (best dev checkpoints, predictions): %s/runs/\n", path.c_str(),
                config.run_dir.c_str());
    write_summary(
        ctx, config, "finetune",
        {{"runs", outcome.report.size()}, {"report", path}, {"summary", report["summary"]}});
  }
  comm.barrier();
  return 0;
}

KD_COMMAND("kdprune", "finetune",
           "fine-tune models on downstream tasks (GLUE or kdprune-prep tasks), seeds over rank "
           "groups, mean ± sd report",
           training_command<FinetuneConfig>(run_finetune));

}  // namespace kd::methods

// `kdprune prompt-task`: Lester-style prompt tuning of a frozen model on a downstream
// classification task recast as a cloze with a verbaliser (cloze_task.h). For every prompt length
// one ensemble (one prompt per prompt.inits entry; with orders: per_prompt its members also see
// the data in their own order, i.e. they differ by seed) is trained on the train split, all
// prompts in one batched forward pass per step, with the cross-entropy over the verbaliser's
// words. Dev picks the best single prompt; test reports that prompt, every prompt (mean ± sd over
// the members) and the ensemble, in the task's metric, beside the majority-class baseline.
// Lengths are units of work spread over rank groups; a finished length's result file makes a
// re-run skip it.
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <optional>

#include "common/config_io.h"
#include "common/file_io.h"
#include "common/log.h"
#include "common/signals.h"
#include "methods/finetune/downstream_task.h"
#include "methods/input_checks.h"
#include "methods/job_setup.h"
#include "methods/probing/relation_runner.h"
#include "methods/prompt/cloze_task.h"
#include "methods/prompt/prompt_ensemble_task.h"
#include "methods/prompt/prompt_task_config.h"
#include "methods/training_command.h"
#include "text/pretraining_instances.h"
#include "train/trainer.h"

namespace kd::methods {
namespace fs = std::filesystem;
namespace {

std::vector<double> gold_labels(const finetune::TaskSplit& split) {
  std::vector<double> gold;
  for (const auto& e : split.examples) gold.push_back(e.label);
  return gold;
}

// Each member's scores, their mean ± sd (of the task's metric) and the ensemble's.
nlohmann::json split_scores(const finetune::TaskSpec& spec, const prompt::ClassPredictions& p,
                            const std::vector<double>& gold) {
  nlohmann::json out = {{"each", nlohmann::json::array()}};
  double sum = 0, sq = 0;
  for (const auto& each : p.each) {
    out["each"].push_back(finetune::score_predictions(spec, each, gold));
    const double v = out["each"].back()[spec.metric].get<double>();
    sum += v;
    sq += v * v;
  }
  const double n = static_cast<double>(p.each.size());
  const double mean = sum / n;
  out["mean_each"] = mean;
  out["sd_each"] = n > 1 ? std::sqrt(std::max(0.0, (sq - n * mean * mean) / (n - 1))) : 0.0;
  out["ensemble"] = finetune::score_predictions(spec, p.ensemble, gold);
  return out;
}

std::optional<nlohmann::json> train_length(
    model::BertForPreTraining& m, const text::WordPieceTokenizer& tok, const PromptTaskConfig& c,
    const std::string& config_yaml, const finetune::DownstreamTask& task,
    const prompt::Verbaliser& verbaliser, int64_t length, const probing::RelationContext& ctx,
    const std::string& unit, const fs::path& out_dir) {
  auto& comm = *ctx.group;
  auto options = static_cast<const prompt::PromptOptions&>(c.prompt);
  options.length = length;
  const auto classes = static_cast<int64_t>(verbaliser.ids.size());
  auto items_of = [&](const finetune::TaskSplit& split) {
    return prompt::cloze_items(tok, split.examples, c.task.cloze, task.spec.pair, length,
                               c.task.max_seq_length, c.task.max_text_tokens, classes);
  };
  auto train = items_of(task.train);
  KD_CHECK(!train.items.empty(), "{}: the train split has no examples", task.dir);
  const auto train_examples = static_cast<int64_t>(train.items.size());
  const int64_t steps = steps_for_epochs(c.task.epochs, train_examples,
                                         c.task.batch_size * comm.size(), c.train.steps);
  if (comm.is_root())
    log_all("prompt-task", "{}: {} training examples ({} with texts cut to fit), {} steps", unit,
            train_examples, train.truncated, steps);
  const uint64_t seed = train::derive_seed(c.seed, static_cast<uint64_t>(length));
  const auto device = m->parameters().front().device();
  auto prompts = prompt::init_prompts(m, tok, options, verbaliser.ids, seed)
                     .to(device)
                     .set_requires_grad(true);
  const int64_t N = prompts.size(0);
  prompt::PromptEnsembleTask training(m, prompts, std::move(train.items),
                                      text::mix_seed(seed, 0x0F), c.task.batch_size, comm.rank(),
                                      comm.size(), options.orders == "per_prompt",
                                      torch::tensor(verbaliser.ids, torch::kLong));
  const auto trained =
      probing::train_relation_steps(c, config_yaml, unit, steps, seed, ctx, training);
  if (trained.stopped_by_signal) return std::nullopt;
  prompts = prompts.detach();

  nlohmann::json r = {{"unit", unit},
                      {"length", length},
                      {"steps", steps},
                      {"train_examples", train_examples},
                      {"truncated", {{"train", train.truncated}}},
                      {"last_loss", trained.last_loss / static_cast<double>(N)},
                      {"inits", options.inits},
                      {"orders", options.orders}};
  int64_t best = 0;
  for (const auto& set : task.evals) {
    if (!set.labelled) continue;
    const auto items = items_of(set.split);
    r["truncated"][set.name] = items.truncated;
    const auto predicted = prompt::predict_classes(m, prompts, items.items, verbaliser.ids,
                                                   options.combine, c.task.eval_batch_size, comm);
    r[set.name] = split_scores(task.spec, predicted, gold_labels(set.split));
    if (&set == &task.evals.front()) {  // dev picks the best single prompt
      const auto& each = r[set.name]["each"];
      for (size_t p = 1; p < each.size(); ++p)
        if (each[p][task.spec.metric].get<double>() >
            each[static_cast<size_t>(best)][task.spec.metric].get<double>())
          best = static_cast<int64_t>(p);
    }
    r[set.name]["prompt"] = r[set.name]["each"][static_cast<size_t>(best)];
  }
  r["best"] = best;
  if (comm.is_root())
    prompt::save_prompts((out_dir / "prompts" / (unit + ".safetensors")).string(),
                         {prompts, options, best});
  return r;
}

void print_report(const nlohmann::json& report, const PromptTaskConfig& c) {
  const auto metric = report["metric"].get<std::string>();
  const std::string set =
      report["runs"].empty() || report["runs"][0].contains("test") ? "test" : "dev";
  std::printf("\n== prompt-task %s (%s; %zu prompts per length: %s, orders %s): %s %s ==\n",
              report["task"].get<std::string>().c_str(), c.task.cloze.c_str(),
              c.prompt.inits.size(), fmt::format("{}", fmt::join(c.prompt.inits, ",")).c_str(),
              c.prompt.orders.c_str(), set.c_str(), metric.c_str());
  std::printf("%8s %8s %10s %18s %10s\n", "length", "steps", "prompt", "single (mean ± sd)",
              "ensemble");
  for (const auto& r : report["runs"]) {
    const auto& s = r[set];
    std::printf("%8lld %8lld %10.4f %10.4f ± %.4f %10.4f\n", (long long)r["length"].get<int64_t>(),
                (long long)r["steps"].get<int64_t>(), s["prompt"][metric].get<double>(),
                s["mean_each"].get<double>(), s["sd_each"].get<double>(),
                s["ensemble"][metric].get<double>());
  }
  if (report["majority"].contains(set))
    std::printf("majority class: %.4f · prompt = the member best on dev · report: %s\n",
                report["majority"][set][metric].get<double>(),
                (fs::path(c.run_dir) / "prompt_task_report.json").c_str());
}

}  // namespace

void PromptTaskConfig::validate() const {
  train::JobConfig::validate();
  validate_relation_resume(resume);
  ::kd::methods::prompt::validate(prompt);
  KD_CHECK_HINT(!task.dir.empty(), "set task.dir to a directory of kdprune-prep tasks",
                "task.dir is empty");
  for (auto n : prompt_lengths())
    KD_CHECK(n >= 1, "task.lengths: prompt length {} must be >= 1", n);
  KD_CHECK(task.batch_size >= 1 && task.eval_batch_size >= 1,
           "task.batch_size and task.eval_batch_size must be >= 1 (got {} and {})", task.batch_size,
           task.eval_batch_size);
  KD_CHECK(task.epochs >= 0, "task.epochs must be >= 0 (got {})", task.epochs);
  KD_CHECK_HINT(task.max_text_tokens == 0 || task.max_text_tokens >= 2,
                "0 = only task.max_seq_length limits the texts",
                "task.max_text_tokens must be 0 or >= 2 (got {})", task.max_text_tokens);
  for (const auto& init : prompt.inits)
    KD_CHECK_HINT(init != "manual", "use class_label (the verbaliser's words), vocab or random",
                  "prompt.inits: manual needs a relation template, which a task has not");
}

int run_prompt_task(const PromptTaskConfig& config, std::shared_ptr<dist::Communicator> world) {
  config.validate();
  require_model_dir("model.dir", config.model.dir, /*with_vocab=*/true);
  require_dir("task.dir", config.task.dir);
  JobContext ctx = setup_job(config, config::to_yaml(config), "prompt-task", std::move(world));
  auto& comm = *ctx.comm;
  auto frozen = load_frozen_model(config.model.dir, config.train.precision, config.device);
  auto& m = frozen.model;
  const auto& tok = frozen.tokenizer;
  const auto max_positions = m->config().max_position_embeddings;
  KD_CHECK_HINT(config.task.max_seq_length <= max_positions,
                "lower task.max_seq_length to the model's max_position_embeddings",
                "task.max_seq_length {} exceeds {}'s {} positions", config.task.max_seq_length,
                config.model.dir, max_positions);
  const auto task = finetune::load_downstream_task(config.task.dir);
  const auto verbaliser =
      prompt::make_verbaliser(tok, task.spec, config.task.verbaliser, config.task.dir);
  prompt::validate_cloze(config.task.cloze, task.spec.pair);

  const auto lengths = config.prompt_lengths();
  std::vector<std::string> units;
  std::vector<int64_t> work;
  for (auto n : lengths) {
    units.push_back(fmt::format("length-{:03d}", n));
    // Balance by tokens processed: the prompt's vectors plus the text, per example.
    work.push_back((n + config.task.max_seq_length / 2) *
                   static_cast<int64_t>(task.train.examples.size()));
  }
  log_info("prompt-task", "{}: {} classes ({}), {} prompts per length, lengths {}", task.name,
           verbaliser.words.size(), fmt::join(verbaliser.words, ", "), config.prompt.inits.size(),
           fmt::join(lengths, ", "));
  const fs::path out = fs::path(config.run_dir);
  fs::create_directories(out / "prompts");
  const auto outcome = probing::run_relations(
      units, work, comm, config.run_dir, "prompt-task",
      [&](const probing::RelationContext& rc) {
        return train_length(m, tok, config, ctx.config_yaml, task, verbaliser, lengths[rc.index],
                            rc, units[rc.index], out);
      },
      {"runs", "unit"});
  if (outcome.stopped) return kExitCheckpointedOnSignal;
  if (comm.is_root()) {
    nlohmann::json report = {{"task", task.name},
                             {"task_dir", config.task.dir},
                             {"model", config.model.dir},
                             {"metric", task.spec.metric},
                             {"cloze", config.task.cloze},
                             {"verbaliser", verbaliser.words},
                             {"majority", finetune::majority_baseline(task)},
                             {"runs", outcome.report}};
    write_file_atomic((out / "prompt_task_report.json").string(), report.dump(1) + "\n");
    print_report(report, config);
    nlohmann::json fields = {{"task", task.name},
                             {"lengths", lengths.size()},
                             {"report", (out / "prompt_task_report.json").string()}};
    write_summary(ctx, config, "prompt-task", fields);
  }
  comm.barrier();
  return 0;
}

KD_COMMAND("kdprune", "prompt-task",
           "Lester prompt tuning on a classification task recast as a cloze with a verbaliser",
           training_command<PromptTaskConfig>(run_prompt_task));

}  // namespace kd::methods

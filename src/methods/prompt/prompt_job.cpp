// `kdprune prompt`: for every relation, an ensemble of soft prompts (one per prompt.inits entry)
// trained on its train facts with the model frozen (MLM cross-entropy of the object at [MASK]),
// all prompts of the ensemble in one batched forward pass per step. Then dev picks the best single
// prompt, and test reports the manual template (full model), that prompt, every prompt and the
// ensemble. Groups of ranks share the relations as in relmask; a finished relation's result file
// makes a re-run skip it.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <numeric>
#include <optional>
#include <sstream>

#include "common/config_io.h"
#include "common/file_io.h"
#include "common/log.h"
#include "common/signals.h"
#include "methods/input_checks.h"
#include "methods/job_setup.h"
#include "methods/probing/eval_probe.h"
#include "methods/probing/relation_runner.h"
#include "methods/prompt/prompt_config.h"
#include "methods/prompt/prompt_ensemble_task.h"
#include "methods/training_command.h"
#include "model/model_dir.h"
#include "text/pretraining_instances.h"
#include "train/optimizer.h"
#include "train/trainer.h"

namespace kd::methods {
namespace fs = std::filesystem;
namespace {

nlohmann::json score_json(const ProbeScore& s) {
  return {{"facts", s.facts}, {"p_at_1", s.p_at_1()}, {"p_at_k", s.p_at_k()}, {"mrr", s.mrr()}};
}

std::vector<prompt::PromptItem> usable_items(const text::WordPieceTokenizer& tok,
                                             const std::vector<text::ProbeRecord>& records,
                                             const prompt::PromptOptions& o, int64_t max_len,
                                             int64_t* skipped = nullptr) {
  std::vector<prompt::PromptItem> items;
  for (const auto& r : records)
    if (auto it = prompt::make_prompt_item(tok, r, o, max_len)) items.push_back(std::move(*it));
  if (skipped) *skipped = static_cast<int64_t>(records.size() - items.size());
  return items;
}

// Trains one relation's prompt ensemble on its group through the Trainer and returns its result,
// or nothing when a stop signal ended training (checkpointed; a re-run resumes it).
std::optional<nlohmann::json> train_relation(model::BertForPreTraining& m,
                                             const text::WordPieceTokenizer& tok,
                                             const PromptConfig& c, const std::string& config_yaml,
                                             const std::string& relation,
                                             const probing::RelationContext& ctx,
                                             const std::string& prompt_path) {
  auto& comm = *ctx.group;
  const int64_t max_len = m->config().max_position_embeddings;
  const auto train_records = read_probe_split(c.probes.dir, "train", relation);
  auto items = usable_items(tok, train_records, c.prompt, max_len);
  KD_CHECK_HINT(
      !items.empty(), "interleave prompts need records with a template holding [X] and [Y]",
      "relation {}: no usable training fact (single-token objects, fitting template)", relation);
  const int64_t steps =
      relation_steps(c.probes, c.train.steps, static_cast<int64_t>(items.size()), comm.size());
  const size_t train_facts = items.size();
  if (comm.is_root())
    log_all("prompt", "{}: {} training facts, {} steps", relation, train_facts, steps);
  const uint64_t seed = train::derive_seed(c.seed, std::hash<std::string>{}(relation));
  const auto device = m->parameters().front().device();
  auto prompts = prompt::init_prompts(
                     m, tok, c.prompt,
                     prompt::manual_init_tokens(tok, train_records.front(), c.prompt.style), seed)
                     .to(device)
                     .set_requires_grad(true);
  const int64_t N = prompts.size(0);
  prompt::PromptEnsembleTask task(m, prompts, std::move(items), text::mix_seed(seed, 0x0F),
                                  c.probes.batch_size, comm.rank(), comm.size(),
                                  c.prompt.orders == "per_prompt");
  const auto trained =
      probing::train_relation_steps(c, config_yaml, relation, steps, seed, ctx, task);
  if (trained.stopped_by_signal) return std::nullopt;
  const double last_loss = trained.last_loss / static_cast<double>(N);  // per prompt
  prompts = prompts.detach();

  auto evaluate = [&](const std::string& split, int64_t* skipped) {
    const auto recs = read_probe_split(c.probes.dir, split, relation);
    return prompt::score_prompts(m, prompts, usable_items(tok, recs, c.prompt, max_len, skipped),
                                 c.prompt.combine, c.probes.top_k, 64, comm);
  };
  int64_t dev_skipped = 0, test_skipped = 0;
  const auto dev = evaluate("dev", &dev_skipped);
  int64_t best = 0;
  for (int64_t p = 1; p < N; ++p)
    if (dev.each[static_cast<size_t>(p)].p_at_1() > dev.each[static_cast<size_t>(best)].p_at_1())
      best = p;
  const auto test = evaluate("test", &test_skipped);
  const auto test_records = read_probe_split(c.probes.dir, "test", relation);
  auto manual =
      score_probes(m, tok, test_records, std::vector<std::string>(test_records.size(), relation),
                   c.probes.top_k, 64, comm);

  nlohmann::json r = {{"relation", relation},
                      {"train_facts", train_facts},
                      {"steps", steps},
                      {"last_loss", last_loss},
                      {"inits", c.prompt.inits},
                      {"best", best},
                      {"dev", {{"skipped", dev_skipped}, {"each", nlohmann::json::array()}}},
                      {"test", {{"skipped", test_skipped}, {"each", nlohmann::json::array()}}}};
  for (const auto& s : dev.each) r["dev"]["each"].push_back(score_json(s));
  r["dev"]["ensemble"] = score_json(dev.ensemble);
  for (const auto& s : test.each) r["test"]["each"].push_back(score_json(s));
  r["test"]["prompt"] = score_json(test.each[static_cast<size_t>(best)]);
  r["test"]["ensemble"] = score_json(test.ensemble);
  r["test"]["manual"] = score_json(manual.empty() ? ProbeScore{} : manual.begin()->second);
  if (comm.is_root()) prompt::save_prompts(prompt_path, {prompts, c.prompt, best});
  return r;
}

void print_report(const nlohmann::json& report, const PromptConfig& c) {
  std::printf("\n== prompt (%s, %lld vectors, ensemble of %zu: %s): test P@1 ==\n",
              c.prompt.style.c_str(), (long long)c.prompt.length, c.prompt.inits.size(),
              c.prompt.combine.c_str());
  std::printf("%-14s %8s %9s %9s %9s %12s\n", "relation", "facts", "manual", "prompt", "ensemble",
              "mean single");
  double manual = 0, best = 0, ensemble = 0, single = 0;
  for (const auto& r : report) {
    const auto& t = r["test"];
    double mean_single = 0;
    for (const auto& e : t["each"]) mean_single += e["p_at_1"].get<double>() / t["each"].size();
    std::printf("%-14s %8lld %9.4f %9.4f %9.4f %12.4f\n", r["relation"].get<std::string>().c_str(),
                (long long)t["ensemble"]["facts"].get<int64_t>(),
                t["manual"]["p_at_1"].get<double>(), t["prompt"]["p_at_1"].get<double>(),
                t["ensemble"]["p_at_1"].get<double>(), mean_single);
    manual += t["manual"]["p_at_1"].get<double>();
    best += t["prompt"]["p_at_1"].get<double>();
    ensemble += t["ensemble"]["p_at_1"].get<double>();
    single += mean_single;
  }
  const double n = std::max<size_t>(1, report.size());
  std::printf("%-14s %8s %9.4f %9.4f %9.4f %12.4f\n", "average", "", manual / n, best / n,
              ensemble / n, single / n);
  std::printf(
      "prompt = the ensemble's prompt with the best dev P@1 · prompts: %s/prompts/"
      "<relation>.safetensors · report: %s/prompt_report.json\n",
      c.run_dir.c_str(), c.run_dir.c_str());
}

}  // namespace

void PromptConfig::validate() const {
  train::JobConfig::validate();
  validate_relation_resume(resume);
  probes.validate();
  ::kd::methods::prompt::validate(prompt);
  for (const auto& init : prompt.inits)
    KD_CHECK_HINT(init != "class_label",
                  "class_label initialises from a classification task's verbaliser; "
                  "kdprune prompt-task trains such prompts",
                  "prompt.inits: class_label has no class labels to start from in probing");
}

int run_prompt(const PromptConfig& config, std::shared_ptr<dist::Communicator> world) {
  config.validate();  // also when called as a library function with a config made in code
  require_model_dir("model.dir", config.model.dir, /*with_vocab=*/true);
  require_dir("probes.dir", config.probes.dir + "/train");
  JobContext ctx = setup_job(config, config::to_yaml(config), "prompt", std::move(world));
  auto& comm = *ctx.comm;
  const std::string& config_yaml = ctx.config_yaml;
  auto frozen = load_frozen_model(config.model.dir, config.train.precision, config.device);
  auto& m = frozen.model;
  const auto& tok = frozen.tokenizer;

  const auto relations = probe_relations(config.probes);
  const auto work = probe_work(config.probes, config.train.steps, relations, 1);
  log_info("prompt", "{} prompts of {} vectors ({}) per relation", config.prompt.inits.size(),
           config.prompt.length, config.prompt.style);
  const fs::path out = fs::path(config.run_dir);
  fs::create_directories(out / "prompts");
  const auto outcome = probing::run_relations(
      relations, work.work, comm, config.run_dir, "prompt",
      [&](const probing::RelationContext& rc) {
        const auto& name = relations[rc.index];
        return train_relation(m, tok, config, config_yaml, name, rc,
                              (out / "prompts" / (name + ".safetensors")).string());
      });
  if (outcome.stopped) return kExitCheckpointedOnSignal;
  const auto& report = outcome.report;
  if (comm.is_root()) {
    write_file_atomic((out / "prompt_report.json").string(), report.dump(1) + "\n");
    print_report(report, config);
    nlohmann::json means = {{"relations", report.size()},
                            {"report", (out / "prompt_report.json").string()},
                            {"prompts", (out / "prompts").string()}};
    for (const char* column : {"manual", "prompt", "ensemble"}) {
      double sum = 0;
      for (const auto& r : report) sum += r["test"][column]["p_at_1"].get<double>();
      means[std::string("mean_test_p_at_1_") + column] =
          report.empty() ? 0.0 : sum / static_cast<double>(report.size());
    }
    write_summary(ctx, config, "prompt", means);
  }
  comm.barrier();
  return 0;
}

KD_COMMAND("kdprune", "prompt",
           "soft prompts and prompt ensembles per relation over a frozen model",
           training_command<PromptConfig>(run_prompt));

}  // namespace kd::methods

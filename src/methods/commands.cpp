#include "methods/commands.h"

#include <functional>
#include <memory>

#include "common/log.h"
#include "methods/distill/distill_config.h"
#include "methods/inference/eval_mlm.h"
#include "methods/inference/inference_commands.h"
#include "methods/pretrain/pretrain_config.h"
#include "methods/prompt/prompt_config.h"
#include "methods/relmask/relmask_config.h"
#include "methods/schubert/schubert_config.h"

namespace kd::methods {
namespace {

struct TrainingArgs {
  std::string config;
  std::vector<std::string> sets;
};

struct Registry {
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands;
  TrainingArgs training;
  FillMaskArgs fill_mask;
  InspectArgs inspect;
  EvalMlmArgs eval_mlm;
  EvalProbeArgs eval_probe;
};
Registry& registry() {
  static Registry r;
  return r;
}

void add_training(CLI::App& app, const std::string& name, const std::string& help,
                  std::function<int(const std::string&, const std::vector<std::string>&)> run) {
  auto& args = registry().training;
  CLI::App* sub = app.add_subcommand(name, help);
  sub->add_option("--config", args.config, "YAML config (see configs/)")->check(CLI::ExistingFile);
  sub->add_option("--set", args.sets, "override a config key: --set train.steps=100 (repeatable)")
      ->take_all();
  registry().commands.emplace_back(sub, [run, &args] { return run(args.config, args.sets); });
}

}  // namespace

void register_commands(CLI::App& app) {
  add_training(app, "pretrain", "pre-train a BERT (MLM + NSP) on HDF5 shards", run_pretrain);
  add_training(app, "distill",
               "distil a teacher into a student (Tutor-KD, plain KD or MLM-only baseline)",
               run_distill);
  add_training(app, "relmask",
               "LAMP: per-relation pruning masks over a frozen model (relations over rank groups)",
               run_relmask);
  add_training(app, "prompt", "soft prompts and prompt ensembles per relation over a frozen model",
               run_prompt);
  add_training(
      app, "schubert",
      "schuBERT: prune heads, q/k and v sizes, filter and hidden size to a parameter budget",
      run_schubert);

  auto& fm = registry().fill_mask;
  CLI::App* fill = app.add_subcommand("fill-mask", "predict the [MASK] tokens of a text");
  fill->add_option("--model", fm.model, "model directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  fill->add_option("--top-k", fm.top_k, "predictions per mask")->capture_default_str();
  fill->add_option("text", fm.text, "text with one or more [MASK]")->required();
  registry().commands.emplace_back(fill, [&fm] { return run_fill_mask(fm); });

  auto& in = registry().inspect;
  CLI::App* insp = app.add_subcommand("inspect", "per-layer dimensions and parameter counts");
  insp->add_option("--model", in.model, "model directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  registry().commands.emplace_back(insp, [&in] { return run_inspect(in); });

  auto& ev = registry().eval_mlm;
  CLI::App* evm = app.add_subcommand(
      "eval-mlm", "masked-token accuracy and perplexity on held-out shards (MPI ranks share them)");
  evm->add_option("--model", ev.model, "model directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  evm->add_option("--data", ev.data, "held-out HDF5 shard globs")->required()->take_all();
  evm->add_option("--batch-size", ev.batch_size, "rows per batch and rank")->capture_default_str();
  evm->add_option("--max-batches", ev.max_batches, "per rank; 0 = all")->capture_default_str();
  evm->add_option("--precision", ev.precision, "fp32 | bf16")->capture_default_str();
  evm->add_option("--json", ev.json, "also write the result as JSON to this file");
  registry().commands.emplace_back(evm, [&ev] { return run_eval_mlm(ev); });

  auto& ep = registry().eval_probe;
  CLI::App* evp = app.add_subcommand(
      "eval-probe", "LAMA relational probing: P@1, P@k and MRR per relation (MPI ranks share it)");
  evp->add_option("--model", ep.model, "model directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  evp->add_option("--probes", ep.probes, "LAMA JSONL files or directories of them")
      ->required()
      ->take_all();
  evp->add_option("--top-k", ep.top_k, "k of P@k")->capture_default_str();
  evp->add_option("--batch-size", ep.batch_size, "sentences per forward pass")
      ->capture_default_str();
  evp->add_option("--max-per-relation", ep.max_per_relation, "facts per relation; 0 = all")
      ->capture_default_str();
  evp->add_option("--precision", ep.precision, "fp32 | bf16")->capture_default_str();
  evp->add_option("--json", ep.json, "also write the result as JSON to this file");
  evp->add_option("--masks", ep.masks,
                  "LAMP masks (relmask run_dir/masks): adds a mask P@1 column per relation");
  evp->add_option("--prompts", ep.prompts,
                  "soft prompts (prompt run_dir/prompts): adds prompt and ensemble P@1 columns");
  registry().commands.emplace_back(evp, [&ep] { return run_eval_probe(ep); });
}

int run_selected_command(CLI::App& app) {
  for (auto& [sub, run] : registry().commands)
    if (sub->parsed()) return run();
  return 2;
}

}  // namespace kd::methods

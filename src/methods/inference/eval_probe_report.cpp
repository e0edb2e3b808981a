// `kdprune eval-probe`: the probe report. Per relation (and per held-out-template file) the
// manual template's P@1/P@k/MRR with the full model and, side by side when given, the relation's
// soft prompt and prompt ensemble (--prompts) and its LAMP mask (--masks); macro averages at the
// bottom; the same numbers as JSON.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "common/check.h"
#include "common/file_io.h"
#include "methods/inference/inference_commands.h"
#include "methods/probing/eval_probe.h"
#include "methods/prompt/soft_prompts.h"
#include "methods/relmask/relation_masks.h"
#include "model/model_dir.h"

namespace kd::methods {
namespace fs = std::filesystem;
namespace {

using Scores = std::map<std::string, ProbeScore>;  // group (row of the report) -> score

// JSONL files named by args (directories: their *.jsonl, sorted).
std::vector<std::string> probe_files(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& p : inputs) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> here;
      for (const auto& e : fs::directory_iterator(p))
        if (e.path().extension() == ".jsonl") here.push_back(e.path().string());
      std::sort(here.begin(), here.end());
      KD_CHECK_HINT(!here.empty(), "point --probes at files or directories of *.jsonl",
                    "--probes: directory '{}' holds no .jsonl file", p);
      files.insert(files.end(), here.begin(), here.end());
    } else {
      KD_CHECK_HINT(fs::is_regular_file(p, ec), "make probe sets with `kdprune-prep probes`",
                    "--probes: '{}' does not exist", p);
      files.push_back(p);
    }
  }
  return files;
}

// The relation's file in DIR, or "" (with a note on rank 0) when there is none.
std::string relation_file(const std::string& dir, const std::string& relation, const char* what,
                          bool root) {
  const auto path = (fs::path(dir) / (relation + ".safetensors")).string();
  if (fs::exists(path)) return path;
  if (root)
    std::fprintf(stderr, "eval-probe: no %s for %s (%s)\n", what, relation.c_str(), path.c_str());
  return "";
}

struct Subset {
  std::vector<text::ProbeRecord> records;
  std::vector<std::string> groups;
};

nlohmann::json score_json(const ProbeScore& s) {
  return {{"facts", s.facts}, {"p_at_1", s.p_at_1()}, {"p_at_k", s.p_at_k()}, {"mrr", s.mrr()}};
}

}  // namespace

int run_eval_probe(const EvalProbeArgs& args, std::shared_ptr<dist::Communicator> comm) {
  KD_CHECK(args.top_k >= 1, "--top-k must be >= 1 (got {})", args.top_k);
  KD_CHECK(args.batch_size >= 1, "--batch-size must be >= 1 (got {})", args.batch_size);
  KD_CHECK(args.precision == "fp32" || args.precision == "bf16",
           "--precision must be fp32 or bf16 (got '{}')", args.precision);
  for (const auto* dir : {&args.masks, &args.prompts})
    KD_CHECK_HINT(dir->empty() || fs::is_directory(*dir),
                  "--masks is relmask's run_dir/masks, --prompts is prompt's run_dir/prompts",
                  "'{}' is not a directory", *dir);
  auto model = model::load_model_dir(args.model);
  if (args.precision == "bf16") model->set_compute_dtype(torch::kBFloat16);
  auto tok =
      text::WordPieceTokenizer::from_vocab_file((fs::path(args.model) / "vocab.txt").string());

  // Group = relation, or relation + " (held-out template)" for kdprune's held-out template files.
  std::map<std::string, Subset> by_relation;  // every rank holds every record
  std::vector<text::ProbeRecord> records;
  std::vector<std::string> groups;
  for (const auto& f : probe_files(args.probes)) {
    std::vector<text::ProbeRecord> here;
    auto report = text::read_lama_jsonl(f, text::LamaSource::kAuto, nullptr, here);
    KD_CHECK(report.error.empty(), "--probes: {}: {}", f, report.error);
    if (comm->is_root() && (report.bad_lines || report.no_cloze))
      std::fprintf(stderr, "eval-probe: %s: %llu malformed lines, %llu without a cloze sentence\n",
                   f.c_str(), (unsigned long long)report.bad_lines,
                   (unsigned long long)report.no_cloze);
    const bool heldout = f.find(".heldout_template.") != std::string::npos;
    std::map<std::string, int64_t> taken;
    for (auto& r : here) {
      const std::string g = r.relation + (heldout ? " (held-out template)" : "");
      if (args.max_per_relation > 0 && taken[g]++ >= args.max_per_relation) continue;
      auto& sub = by_relation[r.relation];
      sub.records.push_back(r);
      sub.groups.push_back(g);
      groups.push_back(g);
      records.push_back(std::move(r));
    }
  }
  KD_CHECK(!records.empty(), "--probes: no probe records in {} file(s)", args.probes.size());
  const Scores manual =
      score_probes(model, tok, records, groups, args.top_k, args.batch_size, *comm);

  // LAMP: each relation's facts with that relation's mask attached.
  Scores masked;
  if (!args.masks.empty()) {
    for (const auto& [relation, sub] : by_relation) {
      const auto path = relation_file(args.masks, relation, "mask", comm->is_root());
      if (path.empty()) continue;
      relmask::RelationMasks masks(model, relmask::mask_options_of_file(path), 0);
      masks.load(path);
      masks.attach(model);
      masks.set_training(false);
      for (auto& [g, s] :
           score_probes(model, tok, sub.records, sub.groups, args.top_k, args.batch_size, *comm))
        masked[g] = s;
      relmask::RelationMasks::detach(model);
    }
  }
  // Soft prompts: the dev-chosen prompt and the ensemble, in one batched forward per batch.
  Scores prompted, ensembled;
  if (!args.prompts.empty()) {
    const int64_t max_len = model->config().max_position_embeddings;
    for (const auto& [relation, sub] : by_relation) {
      const auto path = relation_file(args.prompts, relation, "prompt", comm->is_root());
      if (path.empty()) continue;
      const auto file = prompt::load_prompts(path);
      KD_CHECK_HINT(file.prompts.size(2) == model->config().hidden_size,
                    "use the prompts trained for this model (kdprune prompt with model.dir = it)",
                    "{}: prompts of width {} do not fit this model's hidden size {}", path,
                    file.prompts.size(2), model->config().hidden_size);
      const auto prompts = file.prompts.to(model->parameters().front().device());
      for (const auto& g : std::set<std::string>(sub.groups.begin(), sub.groups.end())) {
        std::vector<prompt::PromptItem> items;
        for (size_t i = 0; i < sub.records.size(); ++i)
          if (sub.groups[i] == g)
            if (auto it = prompt::make_prompt_item(tok, sub.records[i], file.options, max_len))
              items.push_back(std::move(*it));
        auto s = prompt::score_prompts(model, prompts, items, file.options.combine, args.top_k,
                                       args.batch_size, *comm);
        prompted[g] = s.each[static_cast<size_t>(file.best)];
        ensembled[g] = s.ensemble;
      }
    }
  }
  if (!comm->is_root()) return 0;

  struct Column {
    const char* name;
    const Scores* scores;
  };
  std::vector<Column> extra;
  if (!args.prompts.empty()) extra.push_back({"prompt", &prompted});
  if (!args.prompts.empty()) extra.push_back({"ensemble", &ensembled});
  if (!args.masks.empty()) extra.push_back({"mask", &masked});

  std::printf("eval-probe  %s  (%d ranks, ranking over %lld tokens)\n", args.model.c_str(),
              comm->size(), (long long)model->config().vocab_size);
  std::printf("%-36s %8s %8s %8s %8s", "relation", "facts", "P@1", "P@k", "MRR");
  for (const auto& c : extra) std::printf(" %9s", c.name);
  std::printf(" %8s\n", "skipped");
  nlohmann::json j = {{"model", args.model}, {"top_k", args.top_k}, {"relations", {}}};
  ProbeScore macro;
  int counted = 0;
  std::vector<double> extra_sum(extra.size(), 0.0);
  std::vector<int> extra_count(extra.size(), 0);
  for (const auto& [name, s] : manual) {
    std::printf("%-36s %8lld %8.4f %8.4f %8.4f", name.c_str(), (long long)s.facts, s.p_at_1(),
                s.p_at_k(), s.mrr());
    j["relations"][name] = score_json(s);
    j["relations"][name]["skipped"] = s.skipped;
    for (size_t c = 0; c < extra.size(); ++c) {
      auto it = extra[c].scores->find(name);
      if (it == extra[c].scores->end() || it->second.facts == 0) {
        std::printf(" %9s", "-");
        continue;
      }
      std::printf(" %9.4f", it->second.p_at_1());
      j["relations"][name][extra[c].name] = score_json(it->second);
      extra_sum[c] += it->second.p_at_1();
      extra_count[c] += 1;
    }
    std::printf(" %8lld\n", (long long)s.skipped);
    if (s.facts == 0) continue;
    macro.hits1 += s.p_at_1();
    macro.hitsk += s.p_at_k();
    macro.reciprocal_rank += s.mrr();
    ++counted;
  }
  macro.facts = counted;
  std::printf("%-36s %8d %8.4f %8.4f %8.4f", "average over relations", counted, macro.p_at_1(),
              macro.p_at_k(), macro.mrr());
  j["average"] = {{"p_at_1", macro.p_at_1()}, {"p_at_k", macro.p_at_k()}, {"mrr", macro.mrr()}};
  for (size_t c = 0; c < extra.size(); ++c) {
    const double mean = extra_count[c] ? extra_sum[c] / extra_count[c] : 0.0;
    std::printf(" %9.4f", mean);
    j["average"][extra[c].name] = {{"p_at_1", mean}, {"relations", extra_count[c]}};
  }
  std::printf("\n(P@k with k = %d", args.top_k);
  if (!extra.empty())
    std::printf("; prompt, ensemble and mask columns are P@1; the prompt is the one chosen on dev");
  std::printf(")\n");
  if (!args.json.empty()) write_file_atomic(args.json, j.dump(1) + "\n");
  return 0;
}

namespace {
cli::Runner add_eval_probe(CLI::App& sub) {
  auto a = std::make_shared<EvalProbeArgs>();
  sub.add_option("--model", a->model, "model directory")->required()->check(CLI::ExistingDirectory);
  sub.add_option("--probes", a->probes, "LAMA JSONL files or directories of them")
      ->required()
      ->take_all();
  sub.add_option("--top-k", a->top_k, "k of P@k")->capture_default_str();
  sub.add_option("--batch-size", a->batch_size, "sentences per forward pass")
      ->capture_default_str();
  sub.add_option("--max-per-relation", a->max_per_relation, "facts per relation; 0 = all")
      ->capture_default_str();
  sub.add_option("--precision", a->precision, "fp32 | bf16")->capture_default_str();
  sub.add_option("--json", a->json, "also write the result as JSON to this file");
  sub.add_option("--masks", a->masks,
                 "LAMP masks (relmask run_dir/masks): adds a mask P@1 column per relation");
  sub.add_option("--prompts", a->prompts,
                 "soft prompts (prompt run_dir/prompts): adds prompt and ensemble P@1 columns");
  return inference_command(a, run_eval_probe);
}
}  // namespace

KD_COMMAND("kdprune", "eval-probe",
           "LAMA relational probing: P@1, P@k and MRR per relation (MPI ranks share it)",
           add_eval_probe);

}  // namespace kd::methods

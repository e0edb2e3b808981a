#include "methods/probing/probe_sets.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "common/check.h"
#include "model/model_dir.h"

namespace kd::methods {

void validate_relation_resume(const std::string& resume) {
  KD_CHECK_HINT(resume == "auto" || resume == "never",
                "each relation (finetune: each run) resumes from its own checkpoints in "
                "run_dir/relations/<relation>/ (finetune: run_dir/runs/<run>/)",
                "resume must be auto or never for relmask, prompt and finetune (got '{}')", resume);
}

void ProbeSetSection::validate() const {
  KD_CHECK_HINT(!dir.empty(), "set probes.dir to the output of `kdprune-prep probes`",
                "probes.dir is empty");
  KD_CHECK(batch_size >= 1, "probes.batch_size must be >= 1 (got {})", batch_size);
  KD_CHECK(epochs >= 0, "probes.epochs must be >= 0 (got {})", epochs);
  KD_CHECK(top_k >= 1, "probes.top_k must be >= 1 (got {})", top_k);
}
namespace fs = std::filesystem;

std::vector<text::ProbeRecord> read_probe_split(const std::string& dir, const std::string& split,
                                                const std::string& relation) {
  const std::string path = fmt::format("{}/{}/{}.jsonl", dir, split, relation);
  KD_CHECK_HINT(fs::exists(path), "make probe sets with `kdprune-prep probes --out DIR`",
                "probes.dir: {} does not exist", path);
  std::vector<text::ProbeRecord> out;
  auto report = text::read_lama_jsonl(path, text::LamaSource::kAuto, nullptr, out);
  KD_CHECK(report.error.empty(), "{}: {}", path, report.error);
  return out;
}

std::vector<std::string> probe_relations(const ProbeSetSection& section) {
  if (!section.relations.empty()) return section.relations;
  std::vector<std::string> out;
  const fs::path train = fs::path(section.dir) / "train";
  KD_CHECK_HINT(fs::is_directory(train), "set probes.dir to the output of kdprune-prep probes",
                "probes.dir: {} is not a directory", train.string());
  for (const auto& e : fs::directory_iterator(train)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".jsonl" && name.find(".heldout_template") == std::string::npos)
      out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  KD_CHECK(!out.empty(), "probes.dir: no <relation>.jsonl in {}", train.string());
  return out;
}

ProbeWork probe_work(const ProbeSetSection& section, int64_t steps,
                     const std::vector<std::string>& relations, int test_passes) {
  ProbeWork w;
  std::vector<int64_t> eval_facts;
  auto facts = [&](const char* split, const std::string& r) {
    return static_cast<int64_t>(read_probe_split(section.dir, split, r).size());
  };
  for (const auto& r : relations) {
    w.train_facts.push_back(facts("train", r));
    eval_facts.push_back(facts("dev", r) + test_passes * facts("test", r));
  }
  w.work = relation_work(section, steps, w.train_facts, eval_facts);
  return w;
}

int64_t steps_for_epochs(double epochs, int64_t examples, int64_t per_step, int64_t steps) {
  if (epochs <= 0) return steps;
  return std::max<int64_t>(
      1, static_cast<int64_t>(
             std::ceil(epochs * static_cast<double>(examples) / static_cast<double>(per_step))));
}

int64_t relation_steps(const ProbeSetSection& s, int64_t steps, int64_t facts, int ranks) {
  return steps_for_epochs(s.epochs, facts, s.batch_size * ranks, steps);
}

std::vector<int64_t> relation_work(const ProbeSetSection& s, int64_t steps,
                                   const std::vector<int64_t>& facts,
                                   const std::vector<int64_t>& eval_facts) {
  std::vector<int64_t> out;
  for (size_t r = 0; r < facts.size(); ++r) {
    const int64_t trained =
        s.epochs > 0 ? static_cast<int64_t>(std::ceil(s.epochs * facts[r])) : steps * s.batch_size;
    out.push_back(3 * trained + eval_facts.at(r));
  }
  return out;
}

FrozenModel load_frozen_model(const std::string& dir, const std::string& precision,
                              const std::string& device) {
  KD_CHECK_HINT(!dir.empty(), "set model.dir to a model directory", "model.dir is empty");
  auto m = model::load_model_dir(dir);  // eval mode: no dropout
  for (auto& p : m->parameters()) p.set_requires_grad(false);
  if (precision == "bf16") m->set_compute_dtype(torch::kBFloat16);
  if (device == "cuda") m->to(torch::kCUDA);
  return {m, text::WordPieceTokenizer::from_vocab_file((fs::path(dir) / "vocab.txt").string())};
}

}  // namespace kd::methods

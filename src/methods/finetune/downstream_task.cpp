#include "methods/finetune/downstream_task.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/check.h"
#include "common/json_file.h"
#include "methods/finetune/task_metrics.h"

namespace kd::methods::finetune {
namespace fs = std::filesystem;
namespace {

const char* kLayouts =
    "a task directory is GLUE's own (named CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE or "
    "WNLI, with train.tsv, dev.tsv, test.tsv) or holds a task.json (kdprune-prep tasks) beside "
    "train/dev/test .tsv or .jsonl";

std::string base_name(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

nlohmann::json read_task_json(const std::string& path) {
  return read_json_file(path);
}

TaskSpec generic_spec(const std::string& dir, std::string* name) {
  const std::string path = (fs::path(dir) / "task.json").string();
  const auto j = read_task_json(path);
  auto field = [&](const char* key) -> const nlohmann::json& {
    KD_CHECK_HINT(j.contains(key), "task.json holds name, labels, pair, metric (and also)",
                  "{}: field '{}' missing", path, key);
    return j.at(key);
  };
  TaskSpec spec;
  try {
    spec.name = field("name").get<std::string>();
    spec.labels = field("labels").get<std::vector<std::string>>();
    spec.pair = field("pair").get<bool>();
    spec.metric = field("metric").get<std::string>();
    spec.also = j.value("also", std::vector<std::string>{});
  } catch (const nlohmann::json::type_error& e) {
    KD_FAIL("{}: {} (name: string, labels: list of strings, pair: bool, metric: string)", path,
            e.what());
  }
  const std::vector<std::string> metrics = {"accuracy", "f1",      "macro_f1",
                                            "mcc",      "pearson", "spearman"};
  auto known = [&](const std::string& m) {
    return std::find(metrics.begin(), metrics.end(), m) != metrics.end();
  };
  KD_CHECK(known(spec.metric),
           "{}: metric '{}' is not one of accuracy, f1, macro_f1, mcc, pearson, spearman", path,
           spec.metric);
  for (const auto& m : spec.also)
    KD_CHECK(known(m),
             "{}: 'also' metric '{}' is not one of accuracy, f1, macro_f1, mcc, "
             "pearson, spearman",
             path, m);
  const bool correlation = spec.metric == "pearson" || spec.metric == "spearman";
  KD_CHECK(correlation == spec.regression(),
           "{}: metric '{}' with {} labels: correlations are for regression (labels: []), the "
           "others for classification",
           path, spec.metric, spec.labels.size());
  KD_CHECK(spec.regression() || spec.labels.size() >= 2,
           "{}: a classification task needs at "
           "least two labels",
           path);
  if (name) *name = spec.name;
  return spec;
}

// DIR/<split>.tsv or DIR/<split>.jsonl; "" when neither exists.
std::string split_file(const std::string& dir, const std::string& split) {
  for (const char* ext : {".tsv", ".jsonl"}) {
    const auto p = fs::path(dir) / (split + ext);
    if (fs::exists(p)) return p.string();
  }
  return "";
}

// Whether a generic split's first line names a label: the TSV header's columns, or the keys of
// the first JSONL object.
bool has_label_column(const std::string& path) {
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  if (is_jsonl_path(path)) {
    const auto j = nlohmann::json::parse(first, nullptr, /*allow_exceptions=*/false);
    return j.is_object() && j.contains("label");
  }
  if (!first.empty() && first.back() == '\r') first.pop_back();
  const auto header = split_tabs(first);
  return std::find(header.begin(), header.end(), "label") != header.end();
}

}  // namespace

TaskSpec downstream_task_spec(const std::string& dir, std::string* name) {
  KD_CHECK_HINT(fs::is_directory(dir), kLayouts, "task directory '{}' not found", dir);
  if (fs::exists(fs::path(dir) / "task.json")) return generic_spec(dir, name);
  TaskSpec spec;
  try {
    spec = glue_task(base_name(dir));
  } catch (const Error&) {
    KD_CHECK_HINT(false, kLayouts, "{}: no task.json, and '{}' is not a GLUE task name", dir,
                  base_name(dir));
  }
  if (name) *name = spec.name;
  return spec;
}

DownstreamTask load_downstream_task(const std::string& dir) {
  DownstreamTask t;
  t.dir = dir;
  t.spec = downstream_task_spec(dir, &t.name);
  t.glue = !fs::exists(fs::path(dir) / "task.json");
  auto file = [&](const std::string& f) { return (fs::path(dir) / f).string(); };
  if (t.glue) {
    t.train = read_glue_tsv(t.spec, file("train.tsv"), true);
    if (t.spec.name == "MNLI") {
      t.evals.push_back({"dev", file("dev_matched.tsv"), true, "MNLI-m.tsv", {}});
      t.evals.push_back({"dev_mismatched", file("dev_mismatched.tsv"), true, "", {}});
      t.evals.push_back({"test", file("test_matched.tsv"), false, "MNLI-m.tsv", {}});
      t.evals.push_back({"test_mismatched", file("test_mismatched.tsv"), false, "MNLI-mm.tsv", {}});
    } else {
      t.evals.push_back({"dev", file("dev.tsv"), true, "", {}});
      t.evals.push_back({"test", file("test.tsv"), false, t.spec.name + ".tsv", {}});
    }
    std::vector<EvalSet> present;
    for (auto& e : t.evals) {
      if (e.name.rfind("test", 0) == 0 && !fs::exists(e.path)) continue;  // nothing to predict
      e.split = read_glue_tsv(t.spec, e.path, e.labelled);
      if (e.name.rfind("dev", 0) == 0) e.prediction_file.clear();
      present.push_back(std::move(e));
    }
    t.evals = std::move(present);
    return t;
  }
  const std::string train = split_file(dir, "train");
  KD_CHECK_HINT(!train.empty(), kLayouts, "{}: no train.tsv or train.jsonl", dir);
  t.train = read_generic_task(t.spec, train, true);
  const std::string dev = split_file(dir, "dev");
  KD_CHECK_HINT(!dev.empty(), "the dev split selects the best checkpoint",
                "{}: no dev.tsv or dev.jsonl", dir);
  t.evals.push_back({"dev", dev, true, "", read_generic_task(t.spec, dev, true)});
  if (const std::string test = split_file(dir, "test"); !test.empty()) {
    // Scored when it carries labels (kdprune-prep's tasks do); otherwise predictions only.
    const bool labelled = has_label_column(test);
    t.evals.push_back(
        {"test", test, labelled, t.name + ".test.tsv", read_generic_task(t.spec, test, labelled)});
  }
  return t;
}

nlohmann::json score_predictions(const TaskSpec& spec, const std::vector<double>& predicted,
                                 const std::vector<double>& gold) {
  const int64_t classes = spec.regression() ? 0 : static_cast<int64_t>(spec.labels.size());
  nlohmann::json out = nlohmann::json::object();
  out[spec.metric] = task_metric(spec.metric, predicted, gold, classes);
  for (const auto& m : spec.also) out[m] = task_metric(m, predicted, gold, classes);
  return out;
}

nlohmann::json majority_baseline(const DownstreamTask& task) {
  double constant = 0;
  if (task.spec.regression()) {
    for (const auto& e : task.train.examples) constant += e.label;
    constant /= static_cast<double>(std::max<size_t>(1, task.train.examples.size()));
  } else {
    std::map<double, int64_t> counts;
    for (const auto& e : task.train.examples) ++counts[e.label];
    int64_t best = -1;
    for (const auto& [label, n] : counts)
      if (n > best) best = n, constant = label;  // ties: the lowest class id
  }
  nlohmann::json out = nlohmann::json::object();
  out["predict"] = task.spec.regression()
                       ? nlohmann::json(constant)
                       : nlohmann::json(task.spec.labels[static_cast<size_t>(constant)]);
  for (const auto& e : task.evals) {
    if (!e.labelled) continue;
    std::vector<double> gold;
    for (const auto& ex : e.split.examples) gold.push_back(ex.label);
    out[e.name] = score_predictions(task.spec, std::vector<double>(gold.size(), constant), gold);
  }
  return out;
}

bool truncate_longest_first(std::vector<int32_t>& a, std::vector<int32_t>& b, size_t room) {
  const bool cut = a.size() + b.size() > room;
  while (a.size() + b.size() > room) (a.size() > b.size() ? a : b).pop_back();
  return cut;
}

EncodedSet encode_examples(const text::WordPieceTokenizer& tok,
                           const std::vector<TaskExample>& examples, int64_t max_length) {
  const int32_t cls = tok.token_id("[CLS]"), sep = tok.token_id("[SEP]");
  KD_CHECK(cls >= 0 && sep >= 0, "the vocabulary lacks [CLS] or [SEP]");
  KD_CHECK(max_length >= 4, "finetune.max_seq_length {} is too small (at least 4)", max_length);
  EncodedSet out;
  out.examples.reserve(examples.size());
  for (const auto& ex : examples) {
    auto a = tok.encode(ex.text_a);
    std::vector<int32_t> b;
    const bool pair = !ex.text_b.empty();
    if (pair) b = tok.encode(ex.text_b);
    out.truncated += truncate_longest_first(a, b, static_cast<size_t>(max_length) - (pair ? 3 : 2));
    EncodedExample e;
    e.ids.reserve(a.size() + b.size() + 3);
    e.ids.push_back(cls);
    e.ids.insert(e.ids.end(), a.begin(), a.end());
    e.ids.push_back(sep);
    e.pair_start = static_cast<int32_t>(e.ids.size());
    if (pair) {
      e.ids.insert(e.ids.end(), b.begin(), b.end());
      e.ids.push_back(sep);
    }
    e.label = ex.label;
    out.examples.push_back(std::move(e));
  }
  return out;
}

}  // namespace kd::methods::finetune

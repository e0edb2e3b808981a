#include "methods/finetune/glue_tasks.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/strings.h"

namespace kd::methods::finetune {
namespace {

// Where a task's fields are, by header name (CoLA's labelled files have no header: positions).
struct Columns {
  const char* a;
  const char* b;  // nullptr for single-sentence tasks
  const char* label;
  const char* id;  // on test files
};

const std::map<std::string, Columns>& columns() {
  static const std::map<std::string, Columns> c = {
      {"CoLA", {"sentence", nullptr, "label", "index"}},
      {"SST-2", {"sentence", nullptr, "label", "index"}},
      {"MRPC", {"#1 String", "#2 String", "Quality", "index"}},
      {"STS-B", {"sentence1", "sentence2", "score", "index"}},
      {"QQP", {"question1", "question2", "is_duplicate", "id"}},
      {"MNLI", {"sentence1", "sentence2", "gold_label", "index"}},
      {"QNLI", {"question", "sentence", "label", "index"}},
      {"RTE", {"sentence1", "sentence2", "label", "index"}},
      {"WNLI", {"sentence1", "sentence2", "label", "index"}},
  };
  return c;
}

// A label field as the spec reads it: the class id, or the score for a regression task.
double parse_label(const TaskSpec& spec, const std::string& v, const std::string& path,
                   int64_t line_no) {
  if (spec.regression()) {
    size_t used = 0;
    double score = 0;
    try {
      score = std::stod(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    KD_CHECK(used > 0 && used == v.size(), "{}:{}: score '{}' is not a number", path, line_no, v);
    return score;
  }
  const auto it = std::find(spec.labels.begin(), spec.labels.end(), v);
  std::string known;
  for (const auto& l : spec.labels) known += (known.empty() ? "" : ", ") + l;
  KD_CHECK(it != spec.labels.end(), "{}:{}: unknown {} label '{}' (labels: {})", path, line_no,
           spec.name, v, known);
  return static_cast<double>(it - spec.labels.begin());
}

// The checks every reader applies to a parsed example.
void check_example(const TaskSpec& spec, const TaskExample& ex, const std::string& path) {
  KD_CHECK(!ex.text_a.empty(), "{}:{}: empty text", path, ex.line);
  KD_CHECK(!spec.pair || !ex.text_b.empty(),
           "{}:{}: {} needs a text pair; the second text is empty", path, ex.line, spec.name);
}

}  // namespace

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return out;
    start = tab + 1;
  }
}

bool is_jsonl_path(const std::string& path) {
  return path.size() > 6 && ends_with(path, ".jsonl");
}

TaskSpec glue_task(const std::string& name) {
  const std::string n = ascii_lower(name);
  const std::vector<std::string> binary = {"0", "1"}, nli = {"entailment", "not_entailment"};
  if (n == "cola") return {"CoLA", binary, false, "mcc", {}};
  if (n == "sst-2" || n == "sst2") return {"SST-2", binary, false, "accuracy", {}};
  if (n == "mrpc") return {"MRPC", binary, true, "f1", {"accuracy"}};
  if (n == "sts-b" || n == "stsb") return {"STS-B", {}, true, "pearson", {"spearman"}};
  if (n == "qqp") return {"QQP", binary, true, "f1", {"accuracy"}};
  if (n == "mnli" || n == "mnli-m")
    return {"MNLI",           {"contradiction", "entailment", "neutral"}, true, "accuracy", {},
            "dev_matched.tsv"};
  if (n == "mnli-mm")
    return {"MNLI", {"contradiction", "entailment", "neutral"},
            true,   "accuracy",
            {},     "dev_mismatched.tsv"};
  if (n == "qnli") return {"QNLI", nli, true, "accuracy", {}};
  if (n == "rte") return {"RTE", nli, true, "accuracy", {}};
  if (n == "wnli") return {"WNLI", binary, true, "accuracy", {}};
  KD_FAIL("unknown GLUE task '{}' (CoLA, SST-2, MRPC, STS-B, QQP, MNLI, MNLI-mm, QNLI, RTE, WNLI)",
          name);
}

TaskSplit read_glue_tsv(const TaskSpec& spec, const std::string& path, bool labelled) {
  std::ifstream in(path);
  KD_CHECK_HINT(in.good(),
                "GLUE's files: <task>/train.tsv, dev.tsv (MNLI: dev_matched.tsv), test.tsv",
                "{}: cannot read the {} file", path, spec.name);
  const Columns& cols = columns().at(spec.name);
  const bool headerless = spec.name == "CoLA" && labelled;  // source, label, mark, sentence
  int a = 3, b = -1, label = 1, id = -1;
  size_t width = 4;  // columns a row needs
  int64_t line_no = 0;
  std::string line;
  if (!headerless) {
    KD_CHECK_HINT(std::getline(in, line), "a GLUE file starts with its header line",
                  "{}: empty file", path);
    ++line_no;
    if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // MRPC's files start with a BOM
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto header = split_tabs(line);
    auto find = [&](const char* name, bool required) -> int {
      if (!name) return -1;
      for (size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return static_cast<int>(i);
      KD_CHECK_HINT(!required,
                    "use GLUE's files as distributed (their first line names the columns)",
                    "{}:1: no column '{}' in the {} header", path, name, spec.name);
      return -1;
    };
    a = find(cols.a, true);
    b = find(cols.b, true);
    label = labelled ? find(cols.label, true) : -1;
    id = labelled ? -1 : find(cols.id, true);
    width = static_cast<size_t>(std::max({a, b, label, id})) + 1;
  }
  TaskSplit split;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto f = split_tabs(line);
    const bool missing = f.size() < width || f[static_cast<size_t>(a)].empty() ||
                         (b >= 0 && f[static_cast<size_t>(b)].empty());
    if (missing && spec.name == "QQP") {
      ++split.skipped;  // GLUE's QQP has a few such rows; the reference processors skip them
      continue;
    }
    KD_CHECK_HINT(f.size() >= width, "GLUE's files are tab-separated with no quoting",
                  "{}:{}: {} column(s), the {} format needs {}", path, line_no, f.size(), spec.name,
                  width);
    TaskExample ex;
    ex.line = line_no;
    ex.id = id >= 0 ? f[static_cast<size_t>(id)] : std::to_string(line_no);
    ex.text_a = f[static_cast<size_t>(a)];
    if (b >= 0) ex.text_b = f[static_cast<size_t>(b)];
    check_example(spec, ex, path);
    if (label >= 0) ex.label = parse_label(spec, f[static_cast<size_t>(label)], path, line_no);
    split.examples.push_back(std::move(ex));
  }
  KD_CHECK_HINT(!split.examples.empty(), "check that the file is one of the task's splits",
                "{}: no {} examples", path, spec.name);
  return split;
}

TaskSplit read_generic_task(const TaskSpec& spec, const std::string& path, bool labelled) {
  std::ifstream in(path);
  KD_CHECK(in.good(), "{}: cannot read the {} file", path, spec.name);
  const bool jsonl = is_jsonl_path(path);
  TaskSplit split;
  std::vector<std::string> header;
  int64_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::map<std::string, std::string> row;
    if (jsonl) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      KD_CHECK(j.is_object(), "{}:{}: not a JSON object", path, line_no);
      for (const auto& [k, v] : j.items()) row[k] = v.is_string() ? v.get<std::string>() : v.dump();
    } else if (header.empty()) {
      header = split_tabs(line);
      KD_CHECK_HINT(std::find(header.begin(), header.end(), "text") != header.end(),
                    "the first line names the columns: text [text_pair] label",
                    "{}:{}: no 'text' column in the header", path, line_no);
      continue;
    } else {
      const auto f = split_tabs(line);
      KD_CHECK(f.size() == header.size(), "{}:{}: {} column(s), the header has {}", path, line_no,
               f.size(), header.size());
      for (size_t i = 0; i < f.size(); ++i) row[header[i]] = f[i];
    }
    TaskExample ex;
    ex.line = line_no;
    ex.id = row.count("id") ? row["id"] : std::to_string(line_no);
    ex.text_a = row["text"];
    ex.text_b = row["text_pair"];
    check_example(spec, ex, path);
    if (labelled) {
      KD_CHECK(row.count("label"), "{}:{}: no label", path, line_no);
      ex.label = parse_label(spec, row["label"], path, line_no);
    }
    split.examples.push_back(std::move(ex));
  }
  KD_CHECK(!split.examples.empty(), "{}: no {} examples", path, spec.name);
  return split;
}

}  // namespace kd::methods::finetune

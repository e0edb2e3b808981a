// Downstream task data in GLUE's own TSV files, as distributed (tab-separated, no quoting): the
// nine tasks, each with its columns, label set and official metric, and a generic format for any
// other task. A bad row (too few columns, an unknown label, an unparsable score, a missing text
// pair) is an error naming the file and line, except where GLUE's own files have a known quirk:
// QQP's train/dev files hold a few rows with missing fields, which are skipped and counted (as
// the reference GLUE processors do).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kd::methods::finetune {

struct TaskSpec {
  std::string name;                  // CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE, WNLI
  std::vector<std::string> labels;   // class names in id order; empty = regression (STS-B)
  bool pair = false;                 // sentence pairs
  std::string metric;                // the official metric: mcc | accuracy | f1 | pearson
  std::vector<std::string> also;     // reported beside it (MRPC/QQP accuracy, STS-B spearman)
  std::string dev_file = "dev.tsv";  // MNLI: dev_matched.tsv (dev_mismatched.tsv: MNLI-mm)
  bool regression() const { return labels.empty(); }
};

// The spec of a GLUE task by name (case-insensitive; "MNLI-mm" is MNLI on the mismatched dev
// and test sets). Throws listing the nine names for any other.
TaskSpec glue_task(const std::string& name);

struct TaskExample {
  int64_t line = 0;  // 1-based line in its file
  std::string id;    // GLUE's index column on test sets (prediction files), else the line
  std::string text_a, text_b;
  double label = 0;  // class id, or the score for regression; unset on test sets
};

struct TaskSplit {
  std::vector<TaskExample> examples;
  int64_t skipped = 0;  // QQP rows with missing fields
};

// Reads `path` (train.tsv, dev*.tsv or test*.tsv of the task); `labelled` = false for test files.
TaskSplit read_glue_tsv(const TaskSpec& spec, const std::string& path, bool labelled);

// The fields of a tab-separated line (no quoting, as GLUE's files), and whether a task file is
// JSONL (by its .jsonl extension); shared by the readers and the task-directory loader.
std::vector<std::string> split_tabs(const std::string& line);
bool is_jsonl_path(const std::string& path);

// Any other task, in a generic format: TSV with a header naming the columns `text`, optionally
// `text_pair`, and `label`, or JSONL (`.jsonl`) objects with those keys. spec.labels lists the
// classes (empty: `label` is a regression score); spec.pair requires text_pair on every row.
TaskSplit read_generic_task(const TaskSpec& spec, const std::string& path, bool labelled);

}  // namespace kd::methods::finetune

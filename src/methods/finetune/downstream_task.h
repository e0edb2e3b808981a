// A downstream task as `kdprune finetune` trains and scores it: a directory that is either
// GLUE's own (its name is the task's: CoLA/, SST-2/, MRPC/, STS-B/, QQP/, MNLI/, QNLI/, RTE/,
// WNLI/, with the files as distributed) or a generic task with a task.json (as `kdprune-prep
// tasks` writes: labels, pair, metric, also) beside train/dev/test in TSV or JSONL. Texts are
// encoded for BERT ([CLS] a [SEP] (b [SEP])), truncated longest-first to a maximum length.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "methods/finetune/glue_tasks.h"
#include "text/wordpiece_tokenizer.h"

namespace kd::methods::finetune {

// A split that is evaluated: dev picks the best checkpoint, test gets scores when labelled and
// a prediction file always.
struct EvalSet {
  std::string name;  // dev | dev_mismatched | test | test_mismatched
  std::string path;
  bool labelled = true;         // GLUE's test files are not
  std::string prediction_file;  // GLUE submission name (MNLI-m.tsv, ...) or <task>.<name>.tsv
  TaskSplit split;
};

struct DownstreamTask {
  std::string name;  // GLUE's name or task.json's
  std::string dir;
  TaskSpec spec;
  bool glue = false;
  TaskSplit train;
  std::vector<EvalSet> evals;  // evals[0] is dev: it selects the best checkpoint
  int64_t num_outputs() const {
    return spec.regression() ? 1 : static_cast<int64_t>(spec.labels.size());
  }
};

// Reads a task directory; errors name the file and line (readers in glue_tasks.h) or the field
// of task.json, and say which layout was expected. A missing test split is allowed (nothing to
// predict); a missing train or dev split is an error.
DownstreamTask load_downstream_task(const std::string& dir);
// Only the spec and name (task.json or the GLUE name), without reading the data.
TaskSpec downstream_task_spec(const std::string& dir, std::string* name = nullptr);

// The metric values of predictions on a labelled set: {spec.metric: v, each of spec.also: v}.
// Classification predictions are class ids.
nlohmann::json score_predictions(const TaskSpec& spec, const std::vector<double>& predicted,
                                 const std::vector<double>& gold);

// The majority-class baseline: the most frequent train class (regression: the train mean)
// predicted for every example of each labelled eval set: {set name: scores}.
nlohmann::json majority_baseline(const DownstreamTask& task);

// Hugging Face's longest_first: drops the last token of the longer text (b on a tie) until both
// together hold at most `room` tokens. Returns whether anything was dropped.
bool truncate_longest_first(std::vector<int32_t>& a, std::vector<int32_t>& b, size_t room);

struct EncodedExample {
  std::vector<int32_t> ids;  // [CLS] a [SEP] (b [SEP])
  int32_t pair_start = 0;    // first token of segment B (= ids.size() without a pair)
  double label = 0;
};
struct EncodedSet {
  std::vector<EncodedExample> examples;
  int64_t truncated = 0;  // examples that did not fit max_length whole
};
EncodedSet encode_examples(const text::WordPieceTokenizer& tok,
                           const std::vector<TaskExample>& examples, int64_t max_length);

}  // namespace kd::methods::finetune

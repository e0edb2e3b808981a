// One downstream classification task written in the generic format kdprune finetune reads
// (read_generic_task): DIR/<task>/{train,dev,test}.tsv with the header `text<TAB>label` (pair
// tasks: `text<TAB>text_pair<TAB>label`) and DIR/<task>/task.json (labels, metric, sizes, class
// counts, the majority-class baseline, source, split, overlap with the pre-training corpus).
// Examples go to a split by a hash of their group (80/10/10), so no group is in two splits; the
// caps then keep a deterministic subsample of each split.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kd::prep {

struct TaskExample {
  std::string text, text_pair;  // text_pair only for pair tasks
  int label = 0;                // index into TaskDefinition::labels
  std::string group;            // the split key: examples of one group share a split
  std::string unit;             // the caps keep or drop examples of one unit together ("" = alone)
  std::string id;               // unique per example: orders the subsample
};

struct TaskDefinition {
  std::string name;
  std::vector<std::string> labels;  // class names in id order
  bool pair = false;
  std::string metric;               // macro_f1 | accuracy | f1 (of labels[1])
  std::vector<std::string> also;    // metrics reported beside it
  bool drop_absent_labels = false;  // keep only the labels that occur in the written splits
  std::string source, split, in_pretraining_corpus;
};

struct SplitCaps {
  std::array<size_t, 3> max{6000, 1500, 1500};  // train, dev, test
};

struct TaskSummary {
  std::string name;
  size_t classes = 0;
  std::array<size_t, 3> sizes{};
  std::string majority_label;
  double majority_test_accuracy = 0, majority_test_metric = 0;
};

// 0 = train (80%), 1 = dev (10%), 2 = test (10%), by FNV-1a of the group and the seed.
int task_split(const std::string& group, uint64_t seed);
uint64_t fnv1a(const std::string& s, uint64_t seed);
// FNV-1a with its bits mixed (murmur3's finaliser): for orders and subsamples.
uint64_t order_hash(const std::string& s, uint64_t seed);

// A TSV field: tabs, CR, LF and other whitespace runs turned into one space, trimmed.
std::string tsv_field(const std::string& s);

// Metrics of predicting `predicted` for every example of `gold` (class ids, num_classes
// classes): accuracy, f1 (of class 1), macro_f1 (mean over all classes; a class neither
// predicted nor present counts 0). Exposed for tests.
std::map<std::string, double> constant_prediction_metrics(const std::vector<int>& gold,
                                                          int predicted, int num_classes);

// Splits, caps, checks and writes the task under out_dir/<name>/; examples with an empty text
// (or text pair) after tsv_field are dropped. Throws kd::Error if a split comes out empty.
TaskSummary write_task(const std::string& out_dir, TaskDefinition def,
                       const std::vector<TaskExample>& examples, const SplitCaps& caps,
                       uint64_t seed);

}  // namespace kd::prep

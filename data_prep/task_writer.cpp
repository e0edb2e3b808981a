#include "task_writer.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/file_io.h"

namespace kd::prep {
namespace fs = std::filesystem;
namespace {

const char* const kSplits[3] = {"train", "dev", "test"};

}  // namespace

uint64_t fnv1a(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

uint64_t order_hash(const std::string& s, uint64_t seed) {
  uint64_t h = fnv1a(s, seed);  // FNV-1a's high bits barely change with the last byte: mix them
  h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdull;
  h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

int task_split(const std::string& group, uint64_t seed) {
  const uint64_t h = fnv1a(group, seed) % 10;
  return h < 8 ? 0 : (h == 8 ? 1 : 2);
}

std::string tsv_field(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F) {  // tab, CR, LF, other controls, space
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(ch);
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::map<std::string, double> constant_prediction_metrics(const std::vector<int>& gold,
                                                          int predicted, int num_classes) {
  std::vector<size_t> count(static_cast<size_t>(num_classes), 0);
  for (int g : gold) ++count.at(static_cast<size_t>(g));
  const double n = static_cast<double>(gold.size());
  // The predicted class: precision count/n, recall 1 (if present) -> F1 = 2 count / (n + count).
  // Every other class is never predicted: F1 0.
  auto f1 = [&](int c) {
    const double k = static_cast<double>(count[static_cast<size_t>(c)]);
    return c == predicted && k > 0 ? 2 * k / (n + k) : 0.0;
  };
  double macro = 0;
  for (int c = 0; c < num_classes; ++c) macro += f1(c);
  return {{"accuracy", n > 0 ? count[static_cast<size_t>(predicted)] / n : 0.0},
          {"f1", num_classes > 1 ? f1(1) : 0.0},
          {"macro_f1", num_classes > 0 ? macro / num_classes : 0.0}};
}

TaskSummary write_task(const std::string& out_dir, TaskDefinition def,
                       const std::vector<TaskExample>& examples, const SplitCaps& caps,
                       uint64_t seed) {
  for (const auto& m : def.also) {
    KD_CHECK(m == "macro_f1" || m == "accuracy" || m == "f1", "task {}: unknown metric '{}'",
             def.name, m);
  }
  KD_CHECK(def.metric == "macro_f1" || def.metric == "accuracy" || def.metric == "f1",
           "task {}: unknown metric '{}'", def.name, def.metric);
  // Split by group, then keep the units that hash lowest (a deterministic subsample).
  std::array<std::vector<TaskExample>, 3> split;
  for (const auto& e0 : examples) {
    TaskExample e = e0;
    e.text = tsv_field(e.text);
    e.text_pair = tsv_field(e.text_pair);
    if (e.text.empty() || (def.pair && e.text_pair.empty())) continue;
    KD_CHECK(e.label >= 0 && static_cast<size_t>(e.label) < def.labels.size(),
             "task {}: label id {} out of range", def.name, e.label);
    split[task_split(e.group, seed)].push_back(std::move(e));
  }
  const uint64_t cap_seed = fnv1a(def.name, seed);
  for (int s = 0; s < 3; ++s) {
    auto& v = split[s];
    auto unit_hash = [&](const TaskExample& e) {
      return order_hash(e.unit.empty() ? e.id : e.unit, cap_seed);
    };
    std::stable_sort(v.begin(), v.end(), [&](const TaskExample& a, const TaskExample& b) {
      const uint64_t ha = unit_hash(a), hb = unit_hash(b);
      return ha != hb ? ha < hb : a.id < b.id;
    });
    if (v.size() > caps.max[s]) v.resize(caps.max[s]);
    // Written in an order independent of the units, so a unit's examples are not adjacent.
    std::stable_sort(v.begin(), v.end(), [&](const TaskExample& a, const TaskExample& b) {
      return order_hash(a.id, cap_seed + 1) < order_hash(b.id, cap_seed + 1);
    });
    KD_CHECK_HINT(!v.empty(), "check the source data, or raise --max-* if it is 0",
                  "task {}: the {} split is empty", def.name, kSplits[s]);
  }
  if (def.drop_absent_labels) {  // relabel to the classes that occur, in their original order
    std::vector<int> present(def.labels.size(), 0), new_id(def.labels.size(), -1);
    for (const auto& v : split)
      for (const auto& e : v) present[static_cast<size_t>(e.label)] = 1;
    std::vector<std::string> kept;
    for (size_t c = 0; c < def.labels.size(); ++c)
      if (present[c]) {
        new_id[c] = static_cast<int>(kept.size());
        kept.push_back(def.labels[c]);
      }
    def.labels = kept;
    for (auto& v : split)
      for (auto& e : v) e.label = new_id[static_cast<size_t>(e.label)];
  }
  const int k = static_cast<int>(def.labels.size());

  const std::string dir = out_dir + "/" + def.name;
  fs::create_directories(dir);
  nlohmann::ordered_json sizes, class_counts;
  std::array<std::vector<int>, 3> gold;
  for (int s = 0; s < 3; ++s) {
    std::string tsv = def.pair ? "text\ttext_pair\tlabel\n" : "text\tlabel\n";
    std::vector<size_t> counts(static_cast<size_t>(k), 0);
    for (const auto& e : split[s]) {
      tsv += e.text + "\t" + (def.pair ? e.text_pair + "\t" : "") +
             def.labels[static_cast<size_t>(e.label)] + "\n";
      ++counts[static_cast<size_t>(e.label)];
      gold[s].push_back(e.label);
    }
    write_file_atomic(dir + "/" + kSplits[s] + ".tsv", tsv);
    sizes[kSplits[s]] = split[s].size();
    nlohmann::ordered_json cc = nlohmann::ordered_json::object();
    for (int c = 0; c < k; ++c) cc[def.labels[static_cast<size_t>(c)]] = counts[c];
    class_counts[kSplits[s]] = cc;
  }
  // The majority baseline: the train split's most frequent class (the lowest id on a tie).
  std::vector<size_t> train_counts(static_cast<size_t>(k), 0);
  for (int g : gold[0]) ++train_counts[static_cast<size_t>(g)];
  const int majority = static_cast<int>(std::max_element(train_counts.begin(), train_counts.end()) -
                                        train_counts.begin());
  nlohmann::ordered_json maj = {{"label", def.labels[static_cast<size_t>(majority)]}};
  std::array<std::map<std::string, double>, 3> scores;
  for (int s = 1; s < 3; ++s) {
    scores[s] = constant_prediction_metrics(gold[s], majority, k);
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    m[def.metric] = scores[s][def.metric];
    for (const auto& a : def.also) m[a] = scores[s].at(a);
    maj[kSplits[s]] = m;
  }
  nlohmann::ordered_json task = {
      {"name", def.name},     {"format", "generic"},
      {"labels", def.labels}, {"pair", def.pair},
      {"metric", def.metric}, {"also", def.also},
      {"sizes", sizes},       {"class_counts", class_counts},
      {"majority", maj},      {"source", def.source},
      {"split", def.split},   {"in_pretraining_corpus", def.in_pretraining_corpus}};
  write_file_atomic(dir + "/task.json", task.dump(2) + "\n");

  TaskSummary sum;
  sum.name = def.name;
  sum.classes = def.labels.size();
  for (int s = 0; s < 3; ++s) sum.sizes[s] = split[s].size();
  sum.majority_label = def.labels[static_cast<size_t>(majority)];
  sum.majority_test_accuracy = scores[2]["accuracy"];
  sum.majority_test_metric = scores[2][def.metric];
  return sum;
}

}  // namespace kd::prep

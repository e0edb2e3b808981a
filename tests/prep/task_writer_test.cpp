#include "task_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/file_io.h"

namespace kd::prep {
namespace {
namespace fs = std::filesystem;

TEST(TaskWriter, ConstantPredictionMetricsByHand) {
  // gold 0,0,0,1,2 over 4 classes (class 3 absent), predict 0: class 0 has P = 3/5, R = 1,
  // F1 = 2*3/(5+3) = 0.75; classes 1, 2 (present, never predicted) and 3 (absent) have F1 0.
  auto m = constant_prediction_metrics({0, 0, 0, 1, 2}, 0, 4);
  EXPECT_DOUBLE_EQ(m["accuracy"], 0.6);
  EXPECT_DOUBLE_EQ(m["macro_f1"], 0.75 / 4);
  EXPECT_DOUBLE_EQ(m["f1"], 0.0);
  m = constant_prediction_metrics({0, 1, 0, 0, 1, 0}, 1, 2);  // f1 of class 1: 2*2/(6+2)
  EXPECT_DOUBLE_EQ(m["f1"], 0.5);
  EXPECT_DOUBLE_EQ(m["accuracy"], 2.0 / 6);
  EXPECT_DOUBLE_EQ(m["macro_f1"], 0.25);
  m = constant_prediction_metrics({1, 1}, 0, 2);  // the predicted class is absent
  EXPECT_DOUBLE_EQ(m["accuracy"], 0.0);
  EXPECT_DOUBLE_EQ(m["macro_f1"], 0.0);
}

TEST(TaskWriter, TsvFieldsHoldNoTabsOrNewlines) {
  EXPECT_EQ(tsv_field("  a\tb\r\nc  \x01 d "), "a b c d");
  EXPECT_EQ(tsv_field(" \t\n"), "");
}

std::vector<std::string> lines(const std::string& path) {
  std::istringstream in(read_file(path));
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

struct Dir {
  fs::path path = fs::temp_directory_path() / ("kd_task_writer_" + std::to_string(::getpid()));
  Dir() { fs::remove_all(path); }
  ~Dir() { fs::remove_all(path); }
};

TEST(TaskWriter, SplitsByGroupCapsByUnitAndWritesTheContract) {
  Dir dir;
  TaskDefinition def{"toy", {"a", "b", "never"}, true, "macro_f1", {"accuracy"}, true};
  def.source = "src";
  std::vector<TaskExample> ex;
  for (int g = 0; g < 200; ++g) {
    for (int k = 0; k < 2; ++k) {  // two examples per group and unit
      const std::string id = std::to_string(g) + "/" + std::to_string(k);
      ex.push_back({"text\t" + std::to_string(g) + "\nline", "pair " + id, (g % 3 == 0) ? 1 : 0,
                    "group" + std::to_string(g), "unit" + std::to_string(g), id});
    }
  }
  ex.push_back({" \t ", "x", 0, "g", "", "empty"});  // empty text after cleaning: dropped
  SplitCaps caps;
  caps.max = {50, 1000, 1000};
  auto sum = write_task(dir.path.string(), def, ex, caps, 7);

  const auto task = nlohmann::json::parse(read_file((dir.path / "toy/task.json").string()));
  EXPECT_EQ(task["name"], "toy");
  EXPECT_EQ(task["format"], "generic");
  EXPECT_EQ(task["labels"], nlohmann::json({"a", "b"}));  // "never" does not occur: dropped
  EXPECT_EQ(task["pair"], true);
  EXPECT_EQ(task["metric"], "macro_f1");
  EXPECT_EQ(task["also"], nlohmann::json({"accuracy"}));
  EXPECT_EQ(sum.classes, 2u);

  std::map<std::string, std::set<std::string>> groups_of_split;
  for (const char* split : {"train", "dev", "test"}) {
    auto l = lines((dir.path / "toy" / (std::string(split) + ".tsv")).string());
    ASSERT_FALSE(l.empty());
    EXPECT_EQ(l[0], "text\ttext_pair\tlabel");
    std::map<std::string, int> count, unit_size;
    for (size_t i = 1; i < l.size(); ++i) {
      std::vector<std::string> f;
      std::stringstream ss(l[i]);
      for (std::string x; std::getline(ss, x, '\t');) f.push_back(x);
      ASSERT_EQ(f.size(), 3u) << l[i];
      const std::string g = f[0].substr(5, f[0].find(' ', 5) - 5);  // "text <g> line"
      EXPECT_EQ(f[0], "text " + g + " line");
      groups_of_split[split].insert(g);
      ++unit_size[g];
      ++count[f[2]];
    }
    EXPECT_EQ(task["sizes"][split], l.size() - 1);
    for (const auto& [label, n] : count) EXPECT_EQ(task["class_counts"][split][label], n);
    for (const auto& [g, n] : unit_size) EXPECT_EQ(n, 2) << "a unit was split by the cap";
  }
  EXPECT_EQ(task["sizes"]["train"], 50);
  for (const auto& g : groups_of_split["dev"]) EXPECT_FALSE(groups_of_split["train"].count(g));
  for (const auto& g : groups_of_split["test"]) {
    EXPECT_FALSE(groups_of_split["train"].count(g));
    EXPECT_FALSE(groups_of_split["dev"].count(g));
  }
  // The majority class of train, scored on dev/test with the same formula.
  auto train = task["class_counts"]["train"];
  const std::string maj = train["a"] >= train["b"] ? "a" : "b";
  EXPECT_EQ(task["majority"]["label"], maj);
  const double n = task["sizes"]["test"], k = task["class_counts"]["test"][maj];
  EXPECT_DOUBLE_EQ(task["majority"]["test"]["accuracy"].get<double>(), k / n);
  EXPECT_DOUBLE_EQ(task["majority"]["test"]["macro_f1"].get<double>(), 2 * k / (n + k) / 2);

  // Deterministic for a seed; another seed splits differently.
  const std::string first = read_file((dir.path / "toy/train.tsv").string());
  write_task(dir.path.string(), def, ex, caps, 7);
  EXPECT_EQ(read_file((dir.path / "toy/train.tsv").string()), first);
  write_task(dir.path.string(), def, ex, caps, 8);
  EXPECT_NE(read_file((dir.path / "toy/train.tsv").string()), first);
}

TEST(TaskWriter, RejectsUnknownMetricsAndEmptySplits) {
  Dir dir;
  TaskDefinition def{"bad", {"x", "y"}, false, "mcc", {}};
  std::vector<TaskExample> ex = {{"t", "", 0, "g", "", "1"}};
  EXPECT_THROW(write_task(dir.path.string(), def, ex, SplitCaps{}, 1), std::exception);
  def.metric = "accuracy";
  EXPECT_THROW(write_task(dir.path.string(), def, ex, SplitCaps{}, 1), std::exception);  // 1 group
}

}  // namespace
}  // namespace kd::prep

// Task directories as `kdprune finetune` reads them (GLUE's own by directory name, generic ones
// by task.json), BERT encoding with longest-first truncation, the majority baseline and the
// report's aggregation over seeds, each against hand-computed values.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "common/check.h"
#include "methods/finetune/downstream_task.h"
#include "methods/finetune/finetune_report.h"
#include "support/test_support.h"

namespace kd::methods::finetune {
namespace {
namespace fs = std::filesystem;

std::string error_of(const std::string& dir) {
  try {
    load_downstream_task(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const char* kTaskJson =
    R"({"name": "kinds", "labels": ["animal", "plant", "rock"], "pair": false,
        "metric": "macro_f1", "also": ["accuracy"]})";

std::string generic_task(const std::string& name) {
  const std::string dir = test::temp_dir("task-" + name) + "/" + name;
  test::write_text(dir + "/task.json", kTaskJson);
  test::write_text(dir + "/train.tsv",
                   "text\tlabel\na dog\tanimal\na cat\tanimal\nan oak\tplant\na stone\trock\n");
  test::write_text(dir + "/dev.tsv", "text\tlabel\na cow\tanimal\na fern\tplant\n");
  return dir;
}

TEST(DownstreamTask, GenericTaskWithLabelledTest) {
  const auto dir = generic_task("labelled");
  test::write_text(dir + "/test.jsonl", "{\"text\": \"a rose\", \"label\": \"plant\"}\n");
  const auto t = load_downstream_task(dir);
  EXPECT_FALSE(t.glue);
  EXPECT_EQ(t.name, "kinds");
  EXPECT_EQ(t.num_outputs(), 3);
  EXPECT_EQ(t.train.examples.size(), 4u);
  ASSERT_EQ(t.evals.size(), 2u);
  EXPECT_EQ(t.evals[0].name, "dev");
  EXPECT_EQ(t.evals[1].name, "test");
  EXPECT_TRUE(t.evals[1].labelled);
  EXPECT_EQ(t.evals[1].prediction_file, "kinds.test.tsv");
  // Majority: "animal" (2 of 4 in train). dev: 1 of 2 right; macro-F1 = (2/3 + 0 + 0) / 3.
  const auto m = majority_baseline(t);
  EXPECT_EQ(m["predict"], "animal");
  EXPECT_DOUBLE_EQ(m["dev"]["accuracy"].get<double>(), 0.5);
  EXPECT_NEAR(m["dev"]["macro_f1"].get<double>(), 2.0 / 9.0, 1e-12);
  EXPECT_DOUBLE_EQ(m["test"]["accuracy"].get<double>(), 0.0);
}

TEST(DownstreamTask, UnlabelledTestIsPredictedOnly) {
  const auto dir = generic_task("unlabelled");
  test::write_text(dir + "/test.tsv", "id\ttext\n17\ta rose\n");
  const auto t = load_downstream_task(dir);
  ASSERT_EQ(t.evals.size(), 2u);
  EXPECT_FALSE(t.evals[1].labelled);
  EXPECT_EQ(t.evals[1].split.examples[0].id, "17");
  EXPECT_FALSE(majority_baseline(t).contains("test"));
}

TEST(DownstreamTask, GlueDirectoryByName) {
  const std::string dir = test::temp_dir("task-glue") + "/MNLI";
  const std::string header =
      "index\tpromptID\tpairID\tgenre\ts1b\ts2b\ts1p\ts2p\tsentence1\tsentence2\tlabel1\t"
      "gold_label\n";
  const std::string row =
      "0\t1\t1n\tslate\tx\ty\tX\tY\tA man sleeps.\tA man rests.\tentailment\t"
      "entailment\n";
  test::write_text(dir + "/train.tsv", header + row);
  test::write_text(dir + "/dev_matched.tsv", header + row);
  test::write_text(dir + "/dev_mismatched.tsv", header + row + row);
  test::write_text(dir + "/test_matched.tsv",
                   "index\tpromptID\tpairID\tgenre\ts1b\ts2b\ts1p\ts2p\tsentence1\tsentence2\n"
                   "5\t1\t1n\tslate\tx\ty\tX\tY\tA.\tB.\n");
  const auto t = load_downstream_task(dir);
  EXPECT_TRUE(t.glue);
  EXPECT_EQ(t.name, "MNLI");
  ASSERT_EQ(t.evals.size(), 3u);  // no test_mismatched.tsv: nothing to predict there
  EXPECT_EQ(t.evals[0].name, "dev");
  EXPECT_EQ(t.evals[1].name, "dev_mismatched");
  EXPECT_EQ(t.evals[1].split.examples.size(), 2u);
  EXPECT_EQ(t.evals[2].prediction_file, "MNLI-m.tsv");
  EXPECT_FALSE(t.evals[2].labelled);
  EXPECT_EQ(t.evals[2].split.examples[0].id, "5");
}

TEST(DownstreamTask, BadDirectoriesNameTheProblem) {
  EXPECT_NE(error_of("/nonexistent/task").find("not found"), std::string::npos);
  const std::string plain = test::temp_dir("task-bad") + "/mytask";
  fs::create_directories(plain);
  EXPECT_NE(error_of(plain).find("not a GLUE task name"), std::string::npos);

  const auto no_dev = generic_task("nodev");
  fs::remove(no_dev + "/dev.tsv");
  EXPECT_NE(error_of(no_dev).find("no dev.tsv or dev.jsonl"), std::string::npos);

  const auto missing_field = generic_task("nofield");
  test::write_text(missing_field + "/task.json",
                   R"({"name": "x", "labels": ["a", "b"], "pair": false})");
  EXPECT_NE(error_of(missing_field).find("field 'metric' missing"), std::string::npos);

  const auto bad_metric = generic_task("badmetric");
  test::write_text(bad_metric + "/task.json",
                   R"({"name": "x", "labels": ["a", "b"], "pair": false, "metric": "auc"})");
  EXPECT_NE(error_of(bad_metric).find("metric 'auc'"), std::string::npos);

  const auto unknown = generic_task("unknownlabel");
  test::write_text(unknown + "/train.tsv", "text\tlabel\na dog\tanimal\na fish\tfish\n");
  const auto e = error_of(unknown);
  EXPECT_NE(e.find("train.tsv:3"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown kinds label 'fish'"), std::string::npos) << e;
}

TEST(DownstreamTask, EncodesPairsAndTruncatesLongestFirst) {
  auto tok = text::WordPieceTokenizer::from_tokens(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "e", "f"});
  std::vector<TaskExample> ex(2);
  ex[0].text_a = "a b c d e";
  ex[0].text_b = "f";
  ex[0].label = 1;
  ex[1].text_a = "a b";
  const auto set = encode_examples(tok, ex, 6);
  EXPECT_EQ(set.truncated, 1);
  // room 3: "a b c d e" loses its tail until 2 + 1 fit: [CLS] a b [SEP] f [SEP]
  EXPECT_EQ(set.examples[0].ids, (std::vector<int32_t>{2, 5, 6, 3, 10, 3}));
  EXPECT_EQ(set.examples[0].pair_start, 4);
  EXPECT_EQ(set.examples[0].label, 1);
  EXPECT_EQ(set.examples[1].ids, (std::vector<int32_t>{2, 5, 6, 3}));
  EXPECT_EQ(set.examples[1].pair_start, 4);
}

TEST(FinetuneReport, MeanAndSampleSdOverSeeds) {
  const auto m = mean_sd({0.5, 0.7, 0.9});
  EXPECT_NEAR(m.mean, 0.7, 1e-12);
  EXPECT_NEAR(m.sd, 0.2, 1e-12);
  EXPECT_EQ(mean_sd({0.4}).sd, 0.0);

  nlohmann::json runs = nlohmann::json::array();
  for (int s = 1; s <= 3; ++s)
    runs.push_back({{"model", "teacher"},
                    {"task", "kinds"},
                    {"seed", s},
                    {"evals", {{"dev", {{"macro_f1", 0.3 + 0.2 * s}}}}}});
  runs.push_back({{"model", "student"},
                  {"task", "kinds"},
                  {"seed", 1},
                  {"evals", {{"dev", {{"macro_f1", 0.1}}}}}});
  nlohmann::json tasks = {{"kinds",
                           {{"metric", "macro_f1"},
                            {"test_labelled", false},
                            {"majority", {{"dev", {{"macro_f1", 0.2}}}}}}}};
  const auto report = aggregate_runs(runs, tasks, {"teacher", "student"});
  ASSERT_EQ(report["summary"].size(), 2u);
  const auto& t = report["summary"][0];
  EXPECT_EQ(t["model"], "teacher");
  EXPECT_EQ(t["seeds"], (std::vector<int64_t>{1, 2, 3}));
  EXPECT_NEAR(t["dev"]["macro_f1"]["mean"].get<double>(), 0.7, 1e-12);
  EXPECT_NEAR(t["dev"]["macro_f1"]["sd"].get<double>(), 0.2, 1e-12);
  const auto table = report_table(report);
  EXPECT_NE(table.find("0.7000 ± 0.2000"), std::string::npos) << table;
  EXPECT_NE(table.find("0.1000 ± 0.0000"), std::string::npos) << table;
  EXPECT_NE(table.find("majority class"), std::string::npos) << table;
  EXPECT_NE(table.find("0.2000"), std::string::npos) << table;
}

}  // namespace
}  // namespace kd::methods::finetune

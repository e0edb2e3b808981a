// GLUE's nine TSV formats as distributed, one small file each written here with the formats'
// quirks (CoLA's headerless train/dev files, MRPC's byte-order mark, STS-B's float scores in the
// last of ten columns, MNLI's sixteen columns with gold_label last, QQP's rows with missing
// fields), test files without labels, and bad input failing with file and line.
#include <gtest/gtest.h>

#include <cstdio>

#include "common/check.h"
#include "methods/finetune/glue_tasks.h"
#include "support/test_support.h"

namespace kd::methods::finetune {
namespace {

std::string write_glue_file(const std::string& name, const std::string& text) {
  static const std::string dir = test::temp_dir("glue");
  const std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  return path;
}

std::string error_of(const TaskSpec& spec, const std::string& path, bool labelled = true) {
  try {
    read_glue_tsv(spec, path, labelled);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GlueTasks, EveryFormatReadsItsColumnsAndLabels) {
  struct Case {
    std::string task, file, text;
    size_t examples;
    std::string a, b;
    double label;  // of the first example
  };
  const std::string mnli_header =
      "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t"
      "sentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\t"
      "label5\tgold_label\n";
  const std::vector<Case> cases = {
      {"CoLA", "train.tsv",
       "gj04\t1\t\tOur friends won't buy this analysis.\ngj04\t0\t*\tThey drank the pub.\n", 2,
       "Our friends won't buy this analysis.", "", 1},
      {"SST-2", "train.tsv", "sentence\tlabel\nhide new secretions from the parental units \t0\n",
       1, "hide new secretions from the parental units ", "", 0},
      {"MRPC", "train.tsv",
       "\xEF\xBB\xBFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
       "1\t702876\t702977\tAmrozi accused his brother.\tReferring to him, Amrozi accused.\n",
       1, "Amrozi accused his brother.", "Referring to him, Amrozi accused.", 1},
      {"STS-B", "train.tsv",
       "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
       "0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA plane is taking off.\t"
       "An air plane is taking off.\t3.800\n",
       1, "A plane is taking off.", "An air plane is taking off.", 3.8},
      {"QQP", "train.tsv",
       "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
       "0\t1\t2\tWhat is the step by step guide?\tWhat is the guide?\t0\n"
       "363362\t711434\t711435\tHow can I?\n"  // one of QQP's rows with missing fields
       "1\t3\t4\tHow do I read?\tHow can I read?\t1\n",
       2, "What is the step by step guide?", "What is the guide?", 0},
      {"MNLI", "dev_matched.tsv",
       mnli_header + "0\t63735\t63735n\tslate\t(x)\t(y)\t(X)\t(Y)\tThe new rights are nice.\t"
                     "Everyone really likes the rights.\tneutral\tentailment\tneutral\tneutral\t"
                     "neutral\tneutral\n",
       1, "The new rights are nice.", "Everyone really likes the rights.", 2},
      {"QNLI", "train.tsv",
       "index\tquestion\tsentence\tlabel\n0\tWhen did it start?\tIt started in 1998.\t"
       "not_entailment\n",
       1, "When did it start?", "It started in 1998.", 1},
      {"RTE", "train.tsv",
       "index\tsentence1\tsentence2\tlabel\n0\tNo weapons were found.\tWeapons were found.\t"
       "not_entailment\n1\tA man runs.\tA person runs.\tentailment\n",
       2, "No weapons were found.", "Weapons were found.", 1},
      {"WNLI", "train.tsv",
       "index\tsentence1\tsentence2\tlabel\n0\tI stuck a pin through a carrot.\t"
       "The carrot had a hole.\t1\n",
       1, "I stuck a pin through a carrot.", "The carrot had a hole.", 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.task);
    const auto spec = glue_task(c.task);
    const auto split = read_glue_tsv(spec, write_glue_file(c.task + "-" + c.file, c.text), true);
    ASSERT_EQ(split.examples.size(), c.examples);
    EXPECT_EQ(split.examples[0].text_a, c.a);
    EXPECT_EQ(split.examples[0].text_b, c.b);
    EXPECT_DOUBLE_EQ(split.examples[0].label, c.label);
    EXPECT_EQ(split.skipped, c.task == "QQP" ? 1 : 0);
  }
  EXPECT_EQ(glue_task("MNLI-mm").dev_file, "dev_mismatched.tsv");
  EXPECT_EQ(glue_task("cola").metric, "mcc");
  EXPECT_EQ(glue_task("STS-B").also, std::vector<std::string>{"spearman"});
  EXPECT_THROW(glue_task("SQuAD"), Error);
}

TEST(GlueTasks, TestFilesHaveIdsAndNoLabels) {
  const auto cola = read_glue_tsv(
      glue_task("CoLA"), write_glue_file("cola-test.tsv", "index\tsentence\n0\tBill whistled.\n"),
      false);
  ASSERT_EQ(cola.examples.size(), 1u);
  EXPECT_EQ(cola.examples[0].id, "0");
  EXPECT_EQ(cola.examples[0].text_a, "Bill whistled.");
  const auto qqp = read_glue_tsv(
      glue_task("QQP"),
      write_glue_file("qqp-test.tsv", "id\tquestion1\tquestion2\n7\tWhy?\tWhy not?\n"), false);
  EXPECT_EQ(qqp.examples[0].id, "7");
  EXPECT_EQ(qqp.examples[0].text_b, "Why not?");
}

TEST(GlueTasks, BadInputNamesFileAndLine) {
  const auto rte = glue_task("RTE");
  const std::string header = "index\tsentence1\tsentence2\tlabel\n";
  auto unknown =
      write_glue_file("rte-unknown.tsv", header + "0\tA.\tB.\tentailment\n1\tC.\tD.\tmaybe\n");
  EXPECT_NE(error_of(rte, unknown)
                .find(unknown + ":3: unknown RTE label 'maybe' (labels: "
                                "entailment, not_entailment)"),
            std::string::npos);
  auto no_pair = write_glue_file("rte-nopair.tsv", header + "0\tA.\t\tentailment\n");
  EXPECT_NE(error_of(rte, no_pair).find(no_pair + ":2: RTE needs a text pair"), std::string::npos);
  auto short_row = write_glue_file("rte-short.tsv", header + "0\tA.\n");
  EXPECT_NE(error_of(rte, short_row).find(short_row + ":2: 2 column(s), the RTE format needs 4"),
            std::string::npos);
  auto no_column =
      write_glue_file("rte-header.tsv", "index\tpremise\thypothesis\tlabel\n0\tA.\tB.\t1\n");
  EXPECT_NE(error_of(rte, no_column).find("no column 'sentence1' in the RTE header"),
            std::string::npos);
  auto empty = write_glue_file("rte-empty.tsv", "");
  EXPECT_NE(error_of(rte, empty).find(empty + ": empty file"), std::string::npos);
  auto header_only = write_glue_file("rte-header-only.tsv", header);
  EXPECT_NE(error_of(rte, header_only).find("no RTE examples"), std::string::npos);
  auto score =
      write_glue_file("stsb-bad.tsv",
                      "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\t"
                      "sentence2\tscore\n0\tg\tf\ty\to\ts\ts\tA.\tB.\t4.2x\n");
  EXPECT_NE(error_of(glue_task("STS-B"), score).find(score + ":2: score '4.2x' is not a number"),
            std::string::npos);
  EXPECT_NE(error_of(rte, "/nonexistent/rte.tsv").find("cannot read the RTE file"),
            std::string::npos);
}

}  // namespace
}  // namespace kd::methods::finetune

namespace kd::methods::finetune {
namespace {

TEST(GenericTasks, TsvAndJsonlWithTheirErrors) {
  TaskSpec spec{"supersense", {"noun.animal", "noun.plant"}, false, "accuracy", {}};
  auto tsv = read_generic_task(
      spec,
      write_glue_file("generic.tsv", "text\tlabel\na small dog\tnoun.animal\nan oak\tnoun.plant\n"),
      true);
  ASSERT_EQ(tsv.examples.size(), 2u);
  EXPECT_EQ(tsv.examples[1].text_a, "an oak");
  EXPECT_EQ(tsv.examples[1].label, 1);
  auto jsonl = read_generic_task(
      spec,
      write_glue_file("generic.jsonl",
                      "{\"text\": \"a cat\", \"label\": \"noun.animal\", \"id\": 9}\n"),
      true);
  EXPECT_EQ(jsonl.examples[0].id, "9");
  EXPECT_EQ(jsonl.examples[0].label, 0);
  TaskSpec pair{"defines", {"no", "yes"}, true, "f1", {}};
  auto path = write_glue_file("pair.jsonl", "{\"text\": \"dog\", \"label\": \"yes\"}\n");
  try {
    read_generic_task(pair, path, true);
    FAIL() << "a missing text pair was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":1: defines needs a text pair"),
              std::string::npos);
  }
  auto bad = write_glue_file("bad.tsv", "text\tlabel\na small dog\tnoun.mineral\n");
  try {
    read_generic_task(spec, bad, true);
    FAIL() << "an unknown label was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad + ":2: unknown supersense label 'noun.mineral'"),
              std::string::npos);
  }
  TaskSpec regression{"similarity", {}, true, "pearson", {}};
  auto scores = read_generic_task(
      regression, write_glue_file("reg.tsv", "text\ttext_pair\tlabel\nA.\tB.\t0.25\n"), true);
  EXPECT_DOUBLE_EQ(scores.examples[0].label, 0.25);
}

}  // namespace
}  // namespace kd::methods::finetune

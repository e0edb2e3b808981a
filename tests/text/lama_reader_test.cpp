#include <gtest/gtest.h>

#include "common/check.h"
#include "support/test_support.h"
#include "text/lama_reader.h"

namespace kd::text {
namespace {

using Lines = std::vector<std::string>;
std::string fx(const std::string& name) {
  return test::source_path("tests/text/fixtures/" + name);
}

TEST(LamaReader, ConceptNet) {
  std::vector<ProbeRecord> out;
  auto r = read_lama_jsonl(fx("lama_conceptnet.jsonl"), LamaSource::kAuto, nullptr, out);
  EXPECT_EQ(r.lines, 4u);
  EXPECT_EQ(r.records, 2u);
  EXPECT_EQ(r.bad_lines, 1u);
  EXPECT_EQ(r.no_cloze, 1u);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].sub_label, "alive");
  EXPECT_EQ(out[0].obj_label, "think");
  EXPECT_EQ(out[0].relation, "HasSubevent");
  EXPECT_EQ(out[0].masked_sentences,
            (Lines{"One of the things you do when you are alive is [MASK]."}));
  EXPECT_EQ(out[1].sub_label, "dog");
}

TEST(LamaReader, TRexWithAndWithoutTemplates) {
  auto templates = read_lama_relation_templates(fx("lama_relations.jsonl"));
  EXPECT_EQ(templates.size(), 2u);  // the template without [X]/[Y] is ignored
  std::vector<ProbeRecord> out;
  auto r = read_lama_jsonl(fx("lama_trex_P19.jsonl"), LamaSource::kTRex, &templates, out);
  EXPECT_EQ(r.records, 2u);
  EXPECT_EQ(r.bad_lines, 1u);  // no sub_label
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].relation, "P19");
  EXPECT_EQ(out[0].template_text, "[X] was born in [Y] .");
  EXPECT_EQ(out[0].masked_sentences, (Lines{"Mar\u00eda Luisa Bemberg was born in [MASK] ."}));
  EXPECT_EQ(out[1].masked_sentences, (Lines{"Claude Monet was born in [MASK] ."}));
  EXPECT_EQ(out[1].obj_label, "Paris");

  // Without templates: the evidences' masked sentences; a record without any is counted.
  out.clear();
  r = read_lama_jsonl(fx("lama_trex_P19.jsonl"), LamaSource::kAuto, nullptr, out);
  EXPECT_EQ(r.records, 1u);
  EXPECT_EQ(r.no_cloze, 1u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].masked_sentences,
            (Lines{"Mar\u00eda Luisa Bemberg was born in [MASK] into one of Argentina's "
                   "wealthiest families."}));
}

TEST(LamaReader, GoogleRE) {
  auto templates = read_lama_relation_templates(fx("lama_relations.jsonl"));
  std::vector<ProbeRecord> out;
  auto r = read_lama_jsonl(fx("lama_googlere.jsonl"), LamaSource::kAuto, nullptr, out);
  EXPECT_EQ(r.records, 1u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].relation, "place_of_birth");
  EXPECT_EQ(out[0].sub_label, "Peter F. Martin");
  EXPECT_EQ(out[0].obj_label, "London");
  EXPECT_EQ(out[0].masked_sentences[0].find("Peter F. Martin (born 1941)"), 0u);
  out.clear();
  read_lama_jsonl(fx("lama_googlere.jsonl"), LamaSource::kGoogleRE, &templates, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].masked_sentences, (Lines{"Peter F. Martin was born in [MASK] ."}));
  // The same JSON keys as `kdprune-prep probes` writes.
  std::string j = out[0].to_json_line();
  for (const char* key : {"\"sub_label\":\"Peter F. Martin\"", "\"obj_label\":\"London\"",
                          "\"pred\":\"place_of_birth\"", "\"masked_sentences\":["})
    EXPECT_NE(j.find(key), std::string::npos) << j;
}

TEST(LamaReader, BadFiles) {
  std::vector<ProbeRecord> out;
  auto r = read_lama_jsonl(fx("no_such.jsonl"), LamaSource::kAuto, nullptr, out);
  EXPECT_FALSE(r.error.empty());
  EXPECT_THROW(read_lama_relation_templates(fx("no_such.jsonl")), kd::Error);
  EXPECT_THROW(read_lama_relation_templates(fx("lama_conceptnet.jsonl")), kd::Error);
}

}  // namespace
}  // namespace kd::text

#include "task_builders.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

namespace kd::prep {
namespace {
namespace fs = std::filesystem;

// animal > {dog/domestic dog, cat, dog/hound, pup, puppy}; pup and puppy share a gloss; entity
// stands alone; adjectives: good (head) with satellite nice, antonym bad.
struct WordNetFixture {
  fs::path dir = fs::temp_directory_path() / ("kd_builders_wn_" + std::to_string(::getpid()));
  WordNetFixture() {
    fs::create_directories(dir);
    std::ofstream(dir / "data.noun")
        << "  1 This software and database is being provided to you, the LICENSEE\n"
           "00000100 05 n 01 animal 0 003 ~ 00000200 n 0000 ~ 00000300 n 0000 ~ 00000400 n 0000"
           " | a living organism that feeds on organic matter\n"
           "00000200 05 n 02 dog 0 domestic_dog 0 001 @ 00000100 n 0000"
           " | a member of the genus Canis; \"the dog barked all night\"\n"
           "00000300 05 n 01 cat 0 001 @ 00000100 n 0000 | feline mammal having thick soft fur\n"
           "00000400 05 n 02 dog 1 hound 0 001 @ 00000100 n 0000 | a dog that hunts by scent\n"
           "00000500 05 n 01 pup 0 001 @ 00000100 n 0000 | a young dog\n"
           "00000600 05 n 01 puppy 0 001 @ 00000100 n 0000 | a young dog\n"
           "00000700 03 n 01 entity 0 000 | that which is perceived to exist\n";
    std::ofstream(dir / "data.adj")
        << "00000100 00 a 01 good 0 002 & 00000200 s 0000 ! 00000300 a 0101"
           " | having desirable or positive qualities\n"
           "00000200 00 s 01 nice 0 001 & 00000100 a 0000 | pleasant or agreeable in nature\n"
           "00000300 00 a 01 bad 0 001 ! 00000100 a 0101 | having undesirable qualities\n";
  }
  ~WordNetFixture() { fs::remove_all(dir); }
};

TEST(TaskBuilders, SupersenseLabelsAreLexicographerFilesWithoutSharedGlosses) {
  WordNetFixture f;
  WordNetDb db(f.dir.string());
  const auto lexnames = wordnet_lexnames(f.dir.string());  // no lexnames file: WordNet 3.0's
  ASSERT_EQ(lexnames.size(), 45u);
  EXPECT_EQ(lexnames[5], "noun.animal");
  EXPECT_EQ(lexnames[44], "adj.ppl");
  auto t = build_wn_supersense(db, lexnames);
  std::map<std::string, std::string> label_of;
  for (const auto& e : t.examples) label_of[e.text] = t.def.labels[e.label];
  EXPECT_EQ(label_of.size(), 8u);  // 10 synsets, the two "a young dog" ones left out
  EXPECT_EQ(label_of.count("a young dog"), 0u);
  EXPECT_EQ(label_of["a member of the genus Canis"], "noun.animal");  // gloss without examples
  EXPECT_EQ(label_of["that which is perceived to exist"], "noun.Tops");
  EXPECT_EQ(label_of["pleasant or agreeable in nature"], "adj.all");
  EXPECT_TRUE(t.def.drop_absent_labels);
  EXPECT_EQ(t.def.metric, "macro_f1");
  // A lexnames file, where the WordNet package ships one, is the table instead.
  std::ofstream(f.dir / "lexnames") << "00\tadj.all\t3\n01\tadj.pert\t3\n05\tnoun.animal\t1\n";
  const auto read = wordnet_lexnames(f.dir.string());
  ASSERT_EQ(read.size(), 6u);
  EXPECT_EQ(read[1], "adj.pert");
  EXPECT_EQ(read[5], "noun.animal");
  EXPECT_EQ(read[3], "");
}

TEST(TaskBuilders, GlossPairsAreBalancedWithHardNegativesThatDoNotDefineTheLemma) {
  WordNetFixture f;
  WordNetDb db(f.dir.string());
  auto t = build_wn_gloss_pair(db, 3);
  std::map<std::string, std::vector<std::string>> synset_words;  // gloss -> its words
  for (const auto& s : db.synsets()) synset_words[s.definition] = s.words;
  std::map<std::string, int> pos, neg;
  for (const auto& e : t.examples) {
    ASSERT_TRUE(synset_words.count(e.text_pair)) << e.text_pair;
    const auto& w = synset_words[e.text_pair];
    const bool defines = std::find(w.begin(), w.end(), e.text) != w.end();
    EXPECT_EQ(e.label, defines ? 1 : 0) << e.text << " | " << e.text_pair;
    (e.label ? pos : neg)[e.text]++;
    EXPECT_NE(e.text_pair, "a young dog");
    EXPECT_NE(e.text, "entity");  // nothing related to it: no negative, so no pair
  }
  EXPECT_EQ(pos, neg);  // every positive has a negative with the same lemma
  // animal, dog (x2), domestic dog, cat, hound; good and nice share a family (nice's head is
  // good); bad stands alone unless it hashes to good's split.
  EXPECT_EQ(pos["dog"], 2);
  EXPECT_EQ(pos["animal"], 1);
  EXPECT_EQ(pos["hound"], 1);
  EXPECT_EQ(pos["nice"], 1);
  EXPECT_EQ(pos["good"], 1);
  EXPECT_EQ(t.def.labels, (std::vector<std::string>{"other", "defines"}));
  for (const auto& e : t.examples) EXPECT_EQ(e.unit.substr(0, e.text.size()), e.text);
}

TEST(TaskBuilders, GcideFieldsKeepTheFrequentFieldsAndDropDuplicatedTexts) {
  std::vector<GcideDefinition> defs = {
      {"a", "one zool text", "Zool."},   {"b", "two zool text", "Zool."},
      {"c", "three zool text", "Zool."}, {"d", "one bot text", "Bot."},
      {"e", "two bot text", "Bot."},     {"f", "only law text", "Law"},
      {"g", "same text", "Bot."},        {"h", "same text", "Zool."}};
  auto t = build_gcide_fields(defs, 2, 20);
  EXPECT_EQ(t.def.labels, (std::vector<std::string>{"Zool.", "Bot."}));  // Law: 1 < 2
  ASSERT_EQ(t.examples.size(), 5u);
  for (const auto& e : t.examples) EXPECT_NE(e.text, "same text");
  EXPECT_EQ(build_gcide_fields(defs, 2, 1).def.labels, std::vector<std::string>{"Zool."});
  EXPECT_THROW(build_gcide_fields(defs, 10, 20), std::exception);
}

TEST(TaskBuilders, SpamTasksShareMailsAndDropDuplicateAndConflictingTexts) {
  SpamAssassinData d;
  d.files = 7;
  d.empty = 1;
  d.mails = {{"easy-ham-1", "easy_ham", "1.a.txt", "a", "hello there"},
             {"easy-ham-2", "easy_ham", "1.b.txt", "b", "hello there"},  // duplicate: dropped
             {"hard-ham-1", "hard_ham", "1.c.txt", "c", "tricky newsletter"},
             {"spam-1", "spam", "1.d.txt", "d", "win money"},
             {"spam-2", "spam", "1.e.txt", "e", "same words"},
             {"easy-ham-1", "easy_ham", "2.f.txt", "f", "same words"}};  // conflict: both out
  auto tasks = build_spam_tasks(d);
  ASSERT_EQ(tasks.size(), 2u);
  const auto& spam = tasks[0];
  const auto& kind = tasks[1];
  EXPECT_EQ(spam.def.labels, (std::vector<std::string>{"ham", "spam"}));
  EXPECT_EQ(spam.def.metric, "f1");
  EXPECT_EQ(kind.def.labels, (std::vector<std::string>{"easy_ham", "hard_ham", "spam"}));
  ASSERT_EQ(spam.examples.size(), 3u);
  ASSERT_EQ(kind.examples.size(), 3u);
  EXPECT_EQ(spam.examples[0].group, "a");
  EXPECT_EQ(spam.examples[1].label, 0);  // hard ham is ham
  EXPECT_EQ(kind.examples[1].label, 1);
  EXPECT_EQ(spam.examples[2].label, 1);
  EXPECT_EQ(kind.examples[2].label, 2);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(spam.examples[i].group, kind.examples[i].group);
  EXPECT_NE(spam.note.find("1 duplicate texts, 2 whose copies disagree"), std::string::npos)
      << spam.note;
}

}  // namespace
}  // namespace kd::prep

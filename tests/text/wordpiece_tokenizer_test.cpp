// WordPiece tokenizer vs Hugging Face tokenizers (the Rust implementation behind
// BertTokenizerFast). Expected ids in fixtures/hf_wordpiece_cases.json were produced by HF's
// own code (npm `tokenizers` 0.23.2, see fixtures/make_hf_reference.js) on ~2,500 strings:
// hand-written edge cases, WordNet glosses, raw GCIDE lines and seeded random Unicode strings.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>

#include "common/check.h"
#include "support/test_support.h"
#include "text/wordpiece_tokenizer.h"

namespace kd::text {
namespace {

const WordPieceTokenizer& uncased() {
  static const auto t = WordPieceTokenizer::from_vocab_file(test::vocab_path(), true);
  return t;
}
const WordPieceTokenizer& cased() {
  static const auto t = WordPieceTokenizer::from_vocab_file(test::vocab_path(), false);
  return t;
}

nlohmann::json load_cases() {
  std::ifstream in(test::source_path("tests/text/fixtures/hf_wordpiece_cases.json"));
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in);
}

TEST(WordPieceTokenizer, VocabularyAndSpecialIds) {
  const auto& t = uncased();
  EXPECT_EQ(t.vocab_size(), 30522u);
  EXPECT_EQ(t.pad_id, 0);
  EXPECT_EQ(t.unk_id, 100);
  EXPECT_EQ(t.cls_id, 101);
  EXPECT_EQ(t.sep_id, 102);
  EXPECT_EQ(t.mask_id, 103);
  EXPECT_EQ(t.token_id("the"), 1996);
  EXPECT_EQ(t.token_id("##ing"), 2075);
  EXPECT_EQ(t.token_id("no-such-token"), -1);
  EXPECT_EQ(t.token(1996), "the");
  EXPECT_THROW(t.token(30522), kd::Error);
}

// Code points whose Unicode category differs between HF's Rust tables (Unicode ~8) and utf8proc
// (newer Unicode): 0.06% of all code points, all assigned in Unicode 9 or later.
std::set<int32_t> divergent_code_points() {
  std::ifstream in(test::source_path("tests/text/fixtures/hf_unicode_divergences.txt"));
  EXPECT_TRUE(in.good());
  std::set<int32_t> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') out.insert(std::stoi(line, nullptr, 16));
  return out;
}

bool has_any(const std::string& s, const std::set<int32_t>& cps) {
  for (size_t i = 0; i < s.size();) {
    int32_t cp;
    int len = decode_utf8(s, i, cp);
    if (len == 0) return false;
    if (cps.count(cp)) return true;
    i += len;
  }
  return false;
}

TEST(WordPieceTokenizer, MatchesHuggingFaceUncasedAndCased) {
  auto j = load_cases();
  const auto& cases = j.at("cases");
  ASSERT_GT(cases.size(), 2000u);
  const auto divergent = divergent_code_points();
  ASSERT_GT(divergent.size(), 100u);
  ASSERT_LT(divergent.size(), 1000u);
  int mismatches = 0, skipped = 0;
  for (const auto& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    if (has_any(text, divergent)) {
      ++skipped;
      continue;
    }
    auto want_u = c.at("uncased").get<std::vector<int32_t>>();
    auto want_c = c.at("cased").get<std::vector<int32_t>>();
    auto got_u = uncased().encode(text);
    auto got_c = cased().encode(text);
    if (got_u != want_u && ++mismatches <= 10) ADD_FAILURE() << "uncased mismatch for: " << text;
    if (got_c != want_c && ++mismatches <= 10) ADD_FAILURE() << "cased mismatch for: " << text;
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_LT(skipped, 150) << "most random strings must avoid post-Unicode-8 characters";
}

// Cases derived by hand from the algorithm (HF cannot receive invalid UTF-8: Python decodes
// bytes with errors="replace" first, and U+FFFD is then removed by clean_text).
TEST(WordPieceTokenizer, InvalidUtf8BytesAreDroppedLikeReplacementChars) {
  const auto& t = uncased();
  // "ab\xFFcd" == "ab\uFFFDcd" -> "abcd" (one word); "\xC3" truncated; overlong "\xC0\xAF".
  EXPECT_EQ(t.encode("ab\xFF"
                     "cd"),
            t.encode("abcd"));
  EXPECT_EQ(t.encode("ab\xEF\xBF\xBD"
                     "cd"),
            t.encode("abcd"));
  EXPECT_EQ(t.encode("hello \xC3"), t.encode("hello"));
  EXPECT_EQ(t.encode("a\xC0\xAF"
                     "b"),
            t.encode("ab"));
  EXPECT_EQ(t.encode("\xED\xA0\x80"), std::vector<int32_t>{});  // UTF-8 encoded surrogate
  EXPECT_TRUE(t.encode("\xFF\xFE\xFD").empty());
}

TEST(WordPieceTokenizer, HandDerivedEdgeCases) {
  const auto& t = uncased();
  // Greedy longest-match-first.
  // With bert-base-uncased's vocab HF gives una ##ffa ##ble (ids 14477 20961 3468): the
  // longest prefix in the vocabulary wins even where a linguistic split would differ.
  EXPECT_EQ(t.tokenize("unaffable"), (std::vector<std::string>{"una", "##ffa", "##ble"}));
  // Specials are never split, but only exact (case-sensitive) matches are special.
  EXPECT_EQ(t.tokenize("a[MASK]b"), (std::vector<std::string>{"a", "[MASK]", "b"}));
  EXPECT_EQ(t.tokenize("[mask]"), (std::vector<std::string>{"[", "mask", "]"}));
  // 100 characters are tokenized, 101 become one [UNK].
  EXPECT_NE(t.encode(std::string(100, 'a')), std::vector<int32_t>{t.unk_id});
  EXPECT_EQ(t.encode(std::string(101, 'a')), std::vector<int32_t>{t.unk_id});
  // Accents stripped and lower-cased (uncased), kept (cased: é is not in this vocab -> [UNK]).
  EXPECT_EQ(t.tokenize("Café"), (std::vector<std::string>{"cafe"}));
  EXPECT_EQ(cased().encode("café"), std::vector<int32_t>{cased().unk_id});
  // CJK ideographs are single tokens even without spaces; control chars vanish.
  EXPECT_EQ(t.tokenize("中文"), (std::vector<std::string>{"中", "文"}));
  EXPECT_EQ(t.tokenize("a\x01"
                       "b\tc"),
            (std::vector<std::string>{"ab", "c"}));
  EXPECT_TRUE(t.encode("").empty());
  EXPECT_TRUE(t.encode("\n\n").empty());
}

// HF's cleanup works per token (" ." -> "."), so "don ' t" keeps its spaces, as in HF.
TEST(WordPieceTokenizer, DecodeJoinsPiecesAndCleansSpaces) {
  const auto& t = uncased();
  EXPECT_EQ(t.decode(t.encode("Unaffable dogs, don't bark.")), "unaffable dogs, don ' t bark.");
  EXPECT_EQ(t.decode({t.cls_id, t.token_id("hi"), t.sep_id}, true), "hi");
}

TEST(WordPieceTokenizer, MissingVocabularyNamesTheFile) {
  try {
    WordPieceTokenizer::from_vocab_file("/nonexistent/vocab.txt");
    FAIL() << "no exception";
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/vocab.txt"), std::string::npos);
  }
}

}  // namespace
}  // namespace kd::text

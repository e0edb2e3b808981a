// Instance creation: create_pretraining_data semantics checked statistically (mask rate,
// 80/10/10, NSP balance) and structurally, plus determinism through real HDF5 shards.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "data/instance_rows.h"
#include "data/shard_format.h"
#include "support/test_support.h"
#include "text/pretraining_instances.h"

namespace kd::text {
namespace {

const WordPieceTokenizer& tok() {
  static const auto t = WordPieceTokenizer::from_vocab_file(test::vocab_path(), true);
  return t;
}

// 200 documents of 30 sentences of 8..15 ordinary tokens (ids 2000..2999, no "##" pieces).
std::vector<TokenizedDocument> synthetic_docs(uint64_t seed) {
  Rng rng(seed);
  std::vector<TokenizedDocument> docs(200);
  for (auto& d : docs) {
    for (int s = 0; s < 30; ++s) {
      int len = static_cast<int>(rng.randint(8, 15));
      for (int k = 0; k < len; ++k)
        d.tokens.push_back(static_cast<int32_t>(rng.randint(2000, 2999)));
      d.sentence_ends.push_back(static_cast<uint32_t>(d.tokens.size()));
    }
  }
  return docs;
}

std::vector<CompactInstance> make_all(const InstanceCreator& c,
                                      const std::vector<TokenizedDocument>& docs, uint64_t seed) {
  std::vector<CompactInstance> out;
  for (size_t d = 0; d < docs.size(); ++d) {
    Rng rng(mix_seed(seed, 0, d));
    c.create(docs, d, rng, out);
  }
  return out;
}

TEST(PretrainingInstances, StructureMaskRateAndNspBalance) {
  PretrainingOptions o;  // 128 / 20 / 0.1 / 0.15
  InstanceCreator c(tok(), o);
  auto docs = synthetic_docs(1);
  auto inst = make_all(c, docs, 12345);
  ASSERT_GT(inst.size(), 500u);
  size_t masked = 0, tokens = 0, random_next = 0, as_mask = 0, kept = 0, other = 0;
  for (const auto& x : inst) {
    ASSERT_LE(x.tokens.size(), 128u);
    ASSERT_EQ(x.tokens.front(), tok().cls_id);
    ASSERT_EQ(x.tokens.back(), tok().sep_id);
    ASSERT_EQ(x.tokens[x.segment_a_end], tok().sep_id);
    ASSERT_GE(x.segment_a_end, 2u);                   // A has at least one token
    ASSERT_GE(x.tokens.size(), x.segment_a_end + 3);  // B has at least one token
    ASSERT_LE(x.masked_positions.size(), 20u);
    ASSERT_TRUE(std::is_sorted(x.masked_positions.begin(), x.masked_positions.end()));
    for (size_t k = 0; k < x.masked_positions.size(); ++k) {
      int32_t p = x.masked_positions[k];
      ASSERT_GT(p, 0);
      ASSERT_NE(static_cast<uint32_t>(p), x.segment_a_end);  // never a special position
      ASSERT_GE(x.masked_ids[k], 2000);
      ASSERT_LE(x.masked_ids[k], 2999);
      if (x.tokens[p] == tok().mask_id)
        ++as_mask;
      else if (x.tokens[p] == x.masked_ids[k])
        ++kept;
      else
        ++other;
    }
    // num_to_predict = min(20, max(1, round(0.15 * len)))
    size_t expect = std::min<size_t>(20, std::max<long>(1, std::lround(0.15 * x.tokens.size())));
    ASSERT_EQ(x.masked_positions.size(), expect);
    masked += x.masked_positions.size();
    tokens += x.tokens.size();
    random_next += x.random_next;
  }
  double rate = double(masked) / tokens;
  EXPECT_NEAR(rate, 0.15, 0.01);
  EXPECT_NEAR(double(as_mask) / masked, 0.80, 0.02);
  // "kept" also catches random replacements that drew the original token (1 in 30522).
  EXPECT_NEAR(double(kept) / masked, 0.10, 0.015);
  EXPECT_NEAR(double(other) / masked, 0.10, 0.015);
  // Multi-sentence chunks are random-next half the time; one-sentence tail chunks always are.
  double nsp = double(random_next) / inst.size();
  EXPECT_GT(nsp, 0.45);
  EXPECT_LT(nsp, 0.60);
}

TEST(PretrainingInstances, ShortSequencesAndWholeWordMasking) {
  PretrainingOptions o;
  o.short_seq_prob = 1.0;  // every document gets a random target length in [2, 125]
  o.whole_word_mask = true;
  InstanceCreator c(tok(), o);
  auto docs = synthetic_docs(2);
  // Make every other token a "##" continuation piece: masking must take whole words.
  int32_t cont = tok().token_id("##s");
  ASSERT_GE(cont, 0);
  for (auto& d : docs)
    for (size_t i = 1; i < d.tokens.size(); i += 2) d.tokens[i] = cont;
  auto inst = make_all(c, docs, 7);
  size_t short_ones = 0;
  for (const auto& x : inst) {
    short_ones += x.tokens.size() < 64;
    std::set<int32_t> pos(x.masked_positions.begin(), x.masked_positions.end());
    for (size_t k = 0; k < x.masked_positions.size(); ++k) {
      int32_t p = x.masked_positions[k];
      if (x.masked_ids[k] == cont) {  // a masked continuation: its word head is masked too
        ASSERT_TRUE(pos.count(p - 1) || x.tokens[p - 1] == tok().cls_id ||
                    x.tokens[p - 1] == tok().sep_id);
      }
    }
  }
  EXPECT_GT(short_ones, inst.size() / 4);
}

TEST(PretrainingInstances, SameSeedSameShardsThroughHdf5) {
  PretrainingOptions o;
  o.max_seq_length = 64;
  o.max_predictions = 10;
  InstanceCreator c(tok(), o);
  auto docs = synthetic_docs(3);
  auto a = make_all(c, docs, 99), b = make_all(c, docs, 99), other = make_all(c, docs, 100);
  ASSERT_EQ(a.size(), b.size());
  std::string dir = test::temp_dir("instances");
  auto write = [&](const std::vector<CompactInstance>& v, const std::string& name) {
    data::ShardWriter w(dir + "/" + name, o.max_seq_length, o.max_predictions);
    for (const auto& x : v) w.append(data::padded_row(x, o.max_seq_length, o.max_predictions));
    w.close();
    return dir + "/" + name;
  };
  data::ShardReader ra(write(a, "a.h5")), rb(write(b, "b.h5")), ro(write(other, "o.h5"));
  ASSERT_EQ(ra.size(), static_cast<int64_t>(a.size()));
  auto ba = ra.read(0, ra.size()), bb = rb.read(0, rb.size()), bo = ro.read(0, ro.size());
  EXPECT_EQ(ba.input_ids, bb.input_ids);
  EXPECT_EQ(ba.segment_ids, bb.segment_ids);
  EXPECT_EQ(ba.masked_lm_positions, bb.masked_lm_positions);
  EXPECT_EQ(ba.masked_lm_ids, bb.masked_lm_ids);
  EXPECT_EQ(ba.next_sentence_labels, bb.next_sentence_labels);
  EXPECT_NE(ba.input_ids, bo.input_ids);
  // Row 0 read back equals the padded instance.
  auto first = data::padded_row(a[0], o.max_seq_length, o.max_predictions);
  EXPECT_EQ(std::vector<int32_t>(ba.input_ids.begin(), ba.input_ids.begin() + 64), first.input_ids);
  EXPECT_EQ(ba.next_sentence_labels[0], first.next_sentence_label);
}
}  // namespace
}  // namespace kd::text

namespace kd::text {
namespace {

TEST(PretrainingInstances, UnpaddedAppendWritesTheRowsOfToInstance) {
  PretrainingOptions o;
  InstanceCreator c(tok(), o);
  auto docs = synthetic_docs(3);
  auto inst = make_all(c, docs, 99);
  const std::string dir = test::temp_dir("unpadded");
  {
    data::ShardWriter a(dir + "/a.h5", o.max_seq_length, o.max_predictions, 1);
    data::ShardWriter b(dir + "/b.h5", o.max_seq_length, o.max_predictions, 1, 2);
    for (const auto& x : inst) {
      a.append(data::padded_row(x, o.max_seq_length, o.max_predictions));
      b.append_unpadded(x.tokens.data(), x.tokens.size(), x.segment_a_end,
                        x.masked_positions.data(), x.masked_ids.data(), x.masked_positions.size(),
                        x.random_next ? 1 : 0);
    }
    a.close();
    b.close();
  }
  data::ShardReader ra(dir + "/a.h5"), rb(dir + "/b.h5");
  ASSERT_EQ(ra.size(), static_cast<int64_t>(inst.size()));
  auto x = ra.read(0, ra.size()), y = rb.read(0, rb.size());
  EXPECT_EQ(x.input_ids, y.input_ids);
  EXPECT_EQ(x.input_mask, y.input_mask);
  EXPECT_EQ(x.segment_ids, y.segment_ids);
  EXPECT_EQ(x.masked_lm_positions, y.masked_lm_positions);
  EXPECT_EQ(x.masked_lm_ids, y.masked_lm_ids);
  EXPECT_EQ(x.next_sentence_labels, y.next_sentence_labels);
}

// Salient spans: a corpus's marked objects. Tokenization with markers gives the plain
// tokenization with the marked words flagged; instances mask every salient span first (whole,
// always as [MASK]), strip the flag, and fill the rest of the budget with other tokens.
TEST(PretrainingInstances, MarkedSentencesTokenizeAsPlainTextWithTheSpanFlagged) {
  const std::string m = kSalientMarker;
  std::vector<int32_t> marked, plain;
  ASSERT_TRUE(
      encode_marked_append(tok(), "a dog is a kind of " + m + "dachshund" + m + " .", marked));
  tok().encode_append("a dog is a kind of dachshund .", plain);
  ASSERT_EQ(marked.size(), plain.size());
  std::vector<int32_t> expected_span;
  tok().encode_append("dachshund", expected_span);
  ASSERT_GE(expected_span.size(), 2u);  // a multi-piece word: every piece is flagged
  const size_t span_begin = plain.size() - 1 - expected_span.size();
  for (size_t i = 0; i < plain.size(); ++i) {
    const bool in_span = i >= span_begin && i < plain.size() - 1;
    EXPECT_EQ((marked[i] & kSalientBit) != 0, in_span) << i;
    EXPECT_EQ(marked[i] & ~kSalientBit, plain[i]) << i;
  }
  std::vector<int32_t> odd;
  EXPECT_FALSE(encode_marked_append(tok(), "x is a kind of " + m + "y .", odd));
  for (int32_t id : odd) EXPECT_EQ(id & kSalientBit, 0);  // the unclosed span is not marked
  // Without the flag the tokenizer drops the markers: the corpus reads as plain text.
  std::vector<int32_t> unmarked;
  tok().encode_append("a dog is a kind of " + m + "dachshund" + m + " .", unmarked);
  EXPECT_EQ(unmarked, plain);
}

TEST(PretrainingInstances, SalientSpansAreMaskedFirstWholeAndAlwaysAsMask) {
  auto docs = synthetic_docs(4);
  // The last two tokens of every sentence are a salient span, with ids of their own.
  auto is_salient_id = [](int32_t id) { return id >= 3000 && id < 3100; };
  for (auto& d : docs)
    for (size_t s = 0; s < d.num_sentences(); ++s)
      for (uint32_t i = d.sentence_ends[s] - 2; i < d.sentence_ends[s]; ++i)
        d.tokens[i] = (3000 + static_cast<int32_t>(i % 100)) | kSalientBit;
  for (int budget : {40, 6}) {  // room for every span, and fewer predictions than spans
    PretrainingOptions o;
    o.masked_lm_prob = 0.3;
    o.max_predictions = budget;
    o.whole_word_mask = true;
    InstanceCreator c(tok(), o);
    auto inst = make_all(c, docs, 5);
    ASSERT_GT(inst.size(), 100u);
    size_t salient_masked = 0, other_masked = 0;
    for (const auto& x : inst) {
      for (int32_t id : x.tokens) ASSERT_EQ(id & kSalientBit, 0);
      std::set<int32_t> masked(x.masked_positions.begin(), x.masked_positions.end());
      size_t salient_here = 0;
      for (size_t k = 0; k < x.masked_positions.size(); ++k) {
        ASSERT_EQ(x.masked_ids[k] & kSalientBit, 0);
        if (is_salient_id(x.masked_ids[k])) {
          ++salient_here;
          ASSERT_EQ(x.tokens[x.masked_positions[k]], tok().mask_id);  // never kept or random
        }
      }
      size_t unmasked_salient = 0;
      for (size_t p = 0; p < x.tokens.size(); ++p)
        unmasked_salient += !masked.count(static_cast<int32_t>(p)) && is_salient_id(x.tokens[p]);
      if (budget == 40) {
        ASSERT_EQ(unmasked_salient, 0u);  // every span fits the budget, so every one is masked
      } else if (unmasked_salient > 0) {
        // Spans left over only once the budget is spent on spans (a span cut to one token by
        // the instance's edge can leave one slot that another token then fills).
        ASSERT_LE(x.masked_positions.size() - salient_here, 1u);
        ASSERT_GE(salient_here + 1, static_cast<size_t>(budget));
      }
      salient_masked += salient_here;
      other_masked += x.masked_positions.size() - salient_here;
    }
    if (budget == 40) EXPECT_GT(other_masked, salient_masked / 4);  // the rest of the budget
    EXPECT_GT(salient_masked, 0u);
  }
}

}  // namespace
}  // namespace kd::text

// Shard values are range-checked as batches are built, with the file and row in the error.
#include "data/batch_builder.h"

#include <gtest/gtest.h>

#include "common/check.h"

namespace kd::data {
namespace {

constexpr int kRowLen = 8, kRowPredictions = 2;
constexpr int64_t V = 100;

// One valid row: [CLS] 5 6 [SEP] + padding, position 2 masked with label 7.
InstanceBlock one_row() {
  InstanceBlock b;
  b.count = 1;
  b.seq_len = kRowLen;
  b.max_predictions = kRowPredictions;
  b.input_ids = {1, 5, 6, 2, 0, 0, 0, 0};
  b.input_mask = {1, 1, 1, 1, 0, 0, 0, 0};
  b.segment_ids = {0, 0, 1, 1, 0, 0, 0, 0};
  b.masked_lm_positions = {2, 0};
  b.masked_lm_ids = {7, 0};
  b.next_sentence_labels = {1};
  return b;
}

std::string error_of(const InstanceBlock& b) {
  BatchBuilder builder(1, kRowLen, kRowPredictions, false, V);
  try {
    builder.add(b, 0, "shard_7.h5", 41);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(BatchBuilder, AValidRowBuildsTheBatch) {
  BatchBuilder builder(1, kRowLen, kRowPredictions, false, V);
  builder.add(one_row(), 0, "shard_7.h5", 41);
  auto batch = builder.take();
  EXPECT_EQ(batch.input_ids[0][1].item<int64_t>(), 5);
  EXPECT_EQ(batch.mlm_labels[0][2].item<int64_t>(), 7);
  EXPECT_EQ(batch.num_tokens, 4);
  EXPECT_EQ(batch.num_masked, 1);
}

TEST(BatchBuilder, EveryOutOfRangeValueNamesFileRowFieldAndValue) {
  auto b = one_row();
  b.input_ids[3] = static_cast<int32_t>(V);  // one past the vocabulary
  EXPECT_NE(error_of(b).find("shard 'shard_7.h5' row 41: input_ids[3] = 100 is outside the "
                             "vocabulary [0, 100)"),
            std::string::npos)
      << error_of(b);
  b = one_row();
  b.input_ids[0] = -3;
  EXPECT_NE(error_of(b).find("input_ids[0] = -3"), std::string::npos);
  b = one_row();
  b.input_mask[1] = 62;  // would scale attention scores into NaN
  EXPECT_NE(error_of(b).find("input_mask[1] = 62 is outside {0, 1}"), std::string::npos);
  b = one_row();
  b.segment_ids[5] = 2;
  EXPECT_NE(error_of(b).find("segment_ids[5] = 2"), std::string::npos);
  b = one_row();
  b.masked_lm_ids[0] = 1000;
  EXPECT_NE(error_of(b).find("masked_lm_ids[0] = 1000"), std::string::npos);
  b = one_row();
  b.masked_lm_positions[0] = kRowLen;
  EXPECT_NE(error_of(b).find("masked_lm_positions[0] = 8 is outside [0, 8)"), std::string::npos);
  b = one_row();
  b.next_sentence_labels[0] = 5;
  EXPECT_NE(error_of(b).find("next_sentence_labels[0] = 5"), std::string::npos);
}

TEST(BatchBuilder, WithoutAVocabularySizeOnlyNegativeIdsAreRefused) {
  auto b = one_row();
  b.input_ids[3] = 100000;
  BatchBuilder builder(1, kRowLen, kRowPredictions, false, 0);
  EXPECT_NO_THROW(builder.add(b, 0, "f.h5", 0));
}

}  // namespace
}  // namespace kd::data

#include "data/instance_exchange.h"

#include <gtest/gtest.h>

#include "common/check.h"
#include "dist/local_communicator.h"

namespace kd::data {
namespace {

text::CompactInstance make(int n, bool random_next) {
  text::CompactInstance x;
  for (int i = 0; i < n; ++i) x.tokens.push_back(1000 + i);
  x.segment_a_end = n / 2;
  x.masked_positions = {1, n - 1};
  x.masked_ids = {7, 8};
  x.random_next = random_next;
  return x;
}

TEST(InstanceExchange, EncodeDecodeRoundTrip) {
  std::vector<int32_t> buf;
  append_encoded(make(5, true), 3, buf);
  append_encoded(make(9, false), 0, buf);
  auto got = decode_instances(buf.data(), buf.size());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, 3);
  EXPECT_EQ(got[0].second.tokens, make(5, true).tokens);
  EXPECT_TRUE(got[0].second.random_next);
  EXPECT_EQ(got[1].second.segment_a_end, 4u);
  EXPECT_EQ(got[1].second.masked_positions, (std::vector<int32_t>{1, 8}));
  EXPECT_EQ(got[1].second.masked_ids, (std::vector<int32_t>{7, 8}));
}

TEST(InstanceExchange, TruncatedBufferIsAnError) {
  std::vector<int32_t> buf;
  append_encoded(make(5, true), 0, buf);
  EXPECT_THROW(decode_instances(buf.data(), buf.size() - 1), Error);
  EXPECT_THROW(decode_instances(buf.data(), 3), Error);
}

TEST(InstanceExchange, OwnedShardsCoverEveryShardOnce) {
  for (int world : {1, 2, 3, 5})
    for (int shards : {1, 2, 4, 7}) {
      std::vector<int> count(shards, 0);
      for (int r = 0; r < world; ++r)
        for (int s : owned_shards(shards, r, world)) ++count[s];
      for (int c : count) EXPECT_EQ(c, 1) << world << " ranks, " << shards << " shards";
    }
}

TEST(InstanceExchange, OneRankBalancesAndKeepsEveryInstance) {
  dist::LocalCommunicator comm;
  std::vector<text::CompactInstance> xs;
  for (int i = 0; i < 11; ++i) xs.push_back(make(3 + i, false));
  auto shards = exchange_to_shards(comm, xs, 3, 42);
  ASSERT_EQ(shards.size(), 3u);
  std::vector<size_t> lengths;
  for (const auto& s : shards) {
    EXPECT_GE(s.size(), 3u);
    EXPECT_LE(s.size(), 4u);
    for (const auto& x : s) lengths.push_back(x.tokens.size());
  }
  std::sort(lengths.begin(), lengths.end());
  for (int i = 0; i < 11; ++i) EXPECT_EQ(lengths[i], size_t(3 + i));
  // same seed -> same order
  auto again = exchange_to_shards(comm, xs, 3, 42);
  for (size_t k = 0; k < 3; ++k)
    for (size_t i = 0; i < shards[k].size(); ++i)
      EXPECT_EQ(shards[k][i].tokens, again[k][i].tokens);
}

}  // namespace
}  // namespace kd::data

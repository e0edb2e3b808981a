// Shard/row assignment across ranks: exact coverage, equal batch counts, determinism.
#include "data/shard_assignment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "common/check.h"

namespace kd::data {
namespace {

const std::vector<int64_t> kCounts7 = {50, 30, 70, 10, 90, 40, 60};
const std::vector<int64_t> kCounts3 = {50, 31, 70};

int64_t rows_of(const std::vector<ShardRange>& rs) {
  int64_t n = 0;
  for (const auto& r : rs) n += r.size();
  return n;
}

// Every row of every file is in exactly one range of one rank.
void expect_exact_cover(const std::vector<int64_t>& counts,
                        const std::vector<std::vector<ShardRange>>& ranges) {
  std::vector<std::vector<int>> seen(counts.size());
  for (size_t f = 0; f < counts.size(); ++f) seen[f].assign(counts[f], 0);
  for (const auto& rank : ranges)
    for (const auto& r : rank) {
      ASSERT_GE(r.file, 0);
      ASSERT_LT(r.file, static_cast<int64_t>(counts.size()));
      ASSERT_GE(r.begin, 0);
      ASSERT_LT(r.begin, r.end);
      ASSERT_LE(r.end, counts[r.file]);
      for (int64_t i = r.begin; i < r.end; ++i) ++seen[r.file][i];
    }
  for (size_t f = 0; f < counts.size(); ++f)
    for (int64_t i = 0; i < counts[f]; ++i)
      ASSERT_EQ(seen[f][i], 1) << "file " << f << " row " << i;
}

TEST(ShardAssignment, PermutationIsReproducibleEverywhere) {
  // Golden values: mt19937_64 is fully specified and the bounded draw and Fisher-Yates are ours,
  // so this must hold with any standard library. Changing it silently changes every data order.
  const std::vector<int64_t> golden = seeded_permutation(10, 12345);
  std::vector<int64_t> sorted = golden;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(10);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(sorted, iota);
  EXPECT_EQ(golden, (std::vector<int64_t>{3, 1, 7, 4, 9, 2, 0, 8, 5, 6}));
  EXPECT_EQ(mix_seed({1, 2}), 16424394857094944517ull);
  EXPECT_NE(mix_seed({1, 2}), mix_seed({2, 1}));
  EXPECT_NE(seeded_permutation(10, 12346), golden);
}

TEST(ShardAssignment, BoundedDrawIsUniform) {
  std::mt19937_64 rng(7);
  std::vector<int> hist(3, 0);
  const int n = 60000;
  for (int i = 0; i < n; ++i) {
    uint64_t x = bounded_draw(rng, 3);
    ASSERT_LT(x, 3u);
    ++hist[x];
  }
  for (int h : hist) EXPECT_NEAR(h, n / 3, n / 3 * 0.03);
  EXPECT_EQ(bounded_draw(rng, 1), 0u);
  EXPECT_THROW(bounded_draw(rng, 0), kd::Error);
}

TEST(ShardAssignment, ExactCoverForManyWorldSizes) {
  for (const auto* counts : {&kCounts7, &kCounts3}) {
    for (int world : {1, 2, 3, 4, 7, 8, 10, 16}) {
      for (int64_t epoch : {0, 1, 5}) {
        SCOPED_TRACE(testing::Message()
                     << "files " << counts->size() << " world " << world << " epoch " << epoch);
        auto ranges = assign_ranges(*counts, world, 99, epoch, true);
        ASSERT_EQ(ranges.size(), static_cast<size_t>(world));
        expect_exact_cover(*counts, ranges);
        const int64_t total = std::accumulate(counts->begin(), counts->end(), int64_t{0});
        const auto order = epoch_shard_order(counts->size(), 99, epoch, true);
        // Whole shards round-robin over the first floor(n/world)*world of the shuffled list
        // (rank r gets order[i*world + r]); the leftover shards are cut into nearly equal
        // contiguous parts, one per rank, in shuffled order.
        const size_t n = counts->size();
        const size_t whole = (n / world) * world;
        int64_t leftover = 0;
        for (size_t i = whole; i < n; ++i) leftover += (*counts)[order[i]];
        std::vector<ShardRange> flat;  // leftover parts of all ranks, rank by rank
        for (int r = 0; r < world; ++r) {
          size_t k = 0;
          for (size_t i = r; i < whole; i += world, ++k) {
            ASSERT_LT(k, ranges[r].size());
            EXPECT_EQ(ranges[r][k], (ShardRange{order[i], 0, (*counts)[order[i]]}));
          }
          std::vector<ShardRange> rest(ranges[r].begin() + k, ranges[r].end());
          EXPECT_NEAR(rows_of(rest), static_cast<double>(leftover) / world, 1.0) << "rank " << r;
          flat.insert(flat.end(), rest.begin(), rest.end());
        }
        size_t fi = whole;
        int64_t row = 0;
        for (const auto& r : flat) {
          ASSERT_EQ(r.file, order[fi]);
          ASSERT_EQ(r.begin, row);
          row = r.end;
          if (row == (*counts)[order[fi]]) ++fi, row = 0;
        }
        EXPECT_EQ(fi, n);
        (void)total;
      }
    }
  }
}

TEST(ShardAssignment, EqualBatchCountsAcrossRanks) {
  for (int world : {1, 2, 3, 5, 9}) {
    for (int64_t batch : {1, 4, 16}) {
      auto ranges = assign_ranges(kCounts7, world, 3, 2, true);
      int64_t expected = INT64_MAX;
      for (const auto& rr : ranges) expected = std::min(expected, rows_of(rr) / batch);
      EXPECT_EQ(common_batches(ranges, batch), expected);
      for (int r = 0; r < world; ++r) {
        EpochPlan p = plan_epoch(kCounts7, world, r, 3, 2, batch, true, 16);
        EXPECT_EQ(p.num_batches, expected) << "rank " << r;
        EXPECT_GE(p.instances, p.num_batches * batch);
      }
    }
  }
}

TEST(ShardAssignment, DeterministicPerSeedAndDifferentAcrossEpochs) {
  auto a = assign_ranges(kCounts7, 2, 42, 0, true);
  EXPECT_EQ(a, assign_ranges(kCounts7, 2, 42, 0, true));
  EXPECT_NE(epoch_shard_order(7, 42, 0, true), epoch_shard_order(7, 42, 1, true));
  EXPECT_NE(epoch_shard_order(7, 42, 0, true), epoch_shard_order(7, 43, 0, true));
  EXPECT_EQ(epoch_shard_order(7, 42, 3, false), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  // Over 10 epochs the shard orders are not all the same.
  int distinct_from_0 = 0;
  for (int e = 1; e < 10; ++e)
    distinct_from_0 += epoch_shard_order(7, 42, e, true) != epoch_shard_order(7, 42, 0, true);
  EXPECT_GE(distinct_from_0, 8);
}

TEST(ShardAssignment, PlanPiecesCoverRankRangesInWindows) {
  const int world = 2;
  for (bool shuffle : {true, false}) {
    auto ranges = assign_ranges(kCounts7, world, 5, 1, shuffle);
    for (int r = 0; r < world; ++r) {
      EpochPlan p = plan_epoch(kCounts7, world, r, 5, 1, 8, shuffle, 16);
      std::map<int64_t, std::vector<int>> seen;
      int64_t rows = 0;
      for (const auto& piece : p.pieces) {
        EXPECT_LE(piece.count, 16);
        EXPECT_EQ(piece.shuffled, shuffle);
        auto& s = seen[piece.file];
        s.resize(kCounts7[piece.file], 0);
        for (int64_t i = piece.begin; i < piece.begin + piece.count; ++i) ++s[i];
        rows += piece.count;
      }
      EXPECT_EQ(rows, rows_of(ranges[r]));
      EXPECT_EQ(p.instances, rows);
      for (const auto& range : ranges[r])
        for (int64_t i = range.begin; i < range.end; ++i) EXPECT_EQ(seen[range.file][i], 1);
      if (!shuffle) {
        // File order: pieces ascend within each range.
        for (size_t i = 1; i < p.pieces.size(); ++i) {
          if (p.pieces[i].file == p.pieces[i - 1].file) {
            EXPECT_EQ(p.pieces[i].begin, p.pieces[i - 1].begin + p.pieces[i - 1].count);
          }
        }
      }
    }
  }
  // Window orders differ between epochs.
  auto p0 = plan_epoch({200}, 1, 0, 5, 0, 8, true, 16);
  auto p1 = plan_epoch({200}, 1, 0, 5, 1, 8, true, 16);
  ASSERT_EQ(p0.pieces.size(), p1.pieces.size());
  bool differ = false;
  for (size_t i = 0; i < p0.pieces.size(); ++i) differ |= p0.pieces[i].begin != p1.pieces[i].begin;
  EXPECT_TRUE(differ);
}

TEST(ShardAssignment, RejectsBadInput) {
  EXPECT_THROW(assign_ranges({}, 2, 0, 0, true), kd::Error);
  EXPECT_THROW(assign_ranges({5, 0}, 2, 0, 0, true), kd::Error);
  EXPECT_THROW(assign_ranges({5}, 0, 0, 0, true), kd::Error);
  EXPECT_THROW(plan_epoch({5}, 2, 2, 0, 0, 1, true, 4), kd::Error);
  // More ranks than rows: some ranks get nothing, so no rank may run a batch.
  auto r = assign_ranges({3}, 5, 0, 0, true);
  expect_exact_cover({3}, r);
  EXPECT_EQ(common_batches(r, 1), 0);
}

}  // namespace
}  // namespace kd::data

#include "data/shard_assignment.h"

#include <algorithm>
#include <limits>

#include "common/check.h"

namespace kd::data {

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
// Domain tags so the shard order, window order and row order streams never coincide.
constexpr uint64_t kTagShards = 0x5348415244ull;  // "SHARD"
constexpr uint64_t kTagWindows = 0x57494E44ull;   // "WIND"
constexpr uint64_t kTagRows = 0x524F5753ull;      // "ROWS"
}  // namespace

uint64_t mix_seed(std::initializer_list<uint64_t> values) {
  uint64_t h = 0x243F6A8885A308D3ull;
  for (uint64_t v : values) h = splitmix64(h ^ splitmix64(v));
  return h;
}

uint64_t bounded_draw(std::mt19937_64& rng, uint64_t n) {
  KD_CHECK(n > 0, "bounded_draw: n must be > 0");
  // Reject the lowest 2^64 mod n values so that x % n is exactly uniform.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t x = rng();
    if (x >= threshold) return x % n;
  }
}

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(bounded_draw(rng, static_cast<uint64_t>(i + 1)));
    std::swap(p[i], p[j]);
  }
  return p;
}

std::vector<int64_t> epoch_shard_order(int64_t num_files, uint64_t seed, int64_t epoch,
                                       bool shuffle) {
  if (!shuffle) {
    std::vector<int64_t> identity(static_cast<size_t>(num_files));
    for (int64_t i = 0; i < num_files; ++i) identity[i] = i;
    return identity;
  }
  return seeded_permutation(num_files, mix_seed({kTagShards, seed, static_cast<uint64_t>(epoch)}));
}

std::vector<std::vector<ShardRange>> assign_ranges(const std::vector<int64_t>& counts, int world,
                                                   uint64_t seed, int64_t epoch, bool shuffle) {
  KD_CHECK(world > 0, "assign_ranges: world size {} must be > 0", world);
  KD_CHECK(!counts.empty(), "assign_ranges: no shard files");
  for (size_t i = 0; i < counts.size(); ++i)
    KD_CHECK(counts[i] > 0, "assign_ranges: shard {} has {} instances (must be > 0)", i, counts[i]);
  const auto n = static_cast<int64_t>(counts.size());
  const std::vector<int64_t> order = epoch_shard_order(n, seed, epoch, shuffle);
  std::vector<std::vector<ShardRange>> ranges(static_cast<size_t>(world));
  // Whole shards round-robin while every rank can get one more (rank r reads shards
  // i·world + r); the shards left over (n mod world, or all when n < world) are cut into
  // `world` nearly equal contiguous instance ranges, so no rank is left short and the common
  // batch count does not throw away most of an epoch.
  const int64_t whole = (n / world) * world;
  for (int64_t i = 0; i < whole; ++i)
    ranges[static_cast<size_t>(i % world)].push_back({order[i], 0, counts[order[i]]});
  int64_t total = 0;
  for (int64_t i = whole; i < n; ++i) total += counts[order[i]];
  int64_t file_pos = whole, row = 0;  // cursor in the concatenation of the leftover shards
  for (int r = 0; r < world && total > 0; ++r) {
    int64_t need = total * (r + 1) / world - total * r / world;
    while (need > 0) {
      const int64_t file = order[file_pos];
      const int64_t take = std::min(need, counts[file] - row);
      ranges[r].push_back({file, row, row + take});
      need -= take;
      row += take;
      if (row == counts[file]) {
        ++file_pos;
        row = 0;
      }
    }
  }
  return ranges;
}

int64_t common_batches(const std::vector<std::vector<ShardRange>>& ranges, int64_t batch_size) {
  KD_CHECK(batch_size > 0, "batch size {} must be > 0", batch_size);
  int64_t best = std::numeric_limits<int64_t>::max();
  for (const auto& rank_ranges : ranges) {
    int64_t rows = 0;
    for (const auto& r : rank_ranges) rows += r.size();
    best = std::min(best, rows / batch_size);
  }
  return ranges.empty() ? 0 : best;
}

EpochPlan plan_epoch(const std::vector<int64_t>& counts, int world, int rank, uint64_t seed,
                     int64_t epoch, int64_t batch_size, bool shuffle, int64_t window) {
  KD_CHECK(rank >= 0 && rank < world, "plan_epoch: rank {} outside [0, {})", rank, world);
  KD_CHECK(window > 0, "plan_epoch: shuffle window {} must be > 0", window);
  const auto ranges = assign_ranges(counts, world, seed, epoch, shuffle);
  EpochPlan plan;
  plan.num_batches = common_batches(ranges, batch_size);
  const auto e = static_cast<uint64_t>(epoch);
  for (const ShardRange& r : ranges[rank]) {
    plan.instances += r.size();
    const int64_t num_windows = (r.size() + window - 1) / window;
    const auto f = static_cast<uint64_t>(r.file), b = static_cast<uint64_t>(r.begin);
    std::vector<int64_t> worder =
        shuffle ? seeded_permutation(num_windows, mix_seed({kTagWindows, seed, e, f, b}))
                : seeded_permutation(num_windows, 0);
    if (!shuffle) std::sort(worder.begin(), worder.end());
    for (int64_t w : worder) {
      ReadPiece p;
      p.file = r.file;
      p.begin = r.begin + w * window;
      p.count = std::min(window, r.end - p.begin);
      p.shuffled = shuffle;
      if (shuffle)
        p.perm_seed = mix_seed(
            {kTagRows, seed, e, f, static_cast<uint64_t>(p.begin), static_cast<uint64_t>(p.count)});
      plan.pieces.push_back(p);
    }
  }
  return plan;
}

}  // namespace kd::data

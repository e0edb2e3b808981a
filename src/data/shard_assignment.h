// Which instances each rank reads in one epoch, and in which order. Everything here is a pure
// function of (shard sizes, world, seed, epoch), so every rank computes every rank's share
// locally and identically, and a resumed run recomputes exactly the same plan.
//
// Shards: shuffled per epoch (the same permutation on every rank). The first floor(n/world)*world
// shards go round-robin as whole shards (rank r reads shuffled shard i*world + r, as NVIDIA's
// BERT loader); the leftover shards (all of them when there are fewer shards than ranks) are
// cut into `world` contiguous, nearly equal instance ranges, so a shard count that is not a
// multiple of the world size does not leave ranks short. Every rank then runs the same number of
// batches (the minimum over ranks), so no rank ever waits for a batch another rank does not have.
//
// Instances: a rank's ranges are cut into windows of at most `window` rows (bounded memory: one
// window is read at a time); window order within a range and row order within a window are
// shuffled per epoch. These orders depend on (seed, epoch, file, rows) only, not on rank/world.
//
// Randomness: std::mt19937_64 (fully specified by the standard) with our own bounded draw and
// Fisher-Yates, because std::shuffle / std::uniform_int_distribution differ between standard
// libraries and would make runs irreproducible across toolchains.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <random>
#include <vector>

namespace kd::data {

// Rows [begin, end) of file `file` (index into the loader's file list).
struct ShardRange {
  int64_t file = 0;
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
  bool operator==(const ShardRange& o) const {
    return file == o.file && begin == o.begin && end == o.end;
  }
};

// One window of rows read at once, and the seed of its row permutation.
struct ReadPiece {
  int64_t file = 0;
  int64_t begin = 0;
  int64_t count = 0;
  bool shuffled = false;   // false: rows in file order
  uint64_t perm_seed = 0;  // seed of the row permutation when shuffled
};

// A rank's reading plan for one epoch.
struct EpochPlan {
  std::vector<ReadPiece> pieces;  // in reading order
  int64_t instances = 0;          // rows in `pieces` (this rank)
  int64_t num_batches = 0;        // common to all ranks: min over ranks of instances / batch
};

// Mixes several 64-bit values into one seed (splitmix64 chain).
uint64_t mix_seed(std::initializer_list<uint64_t> values);
// Uniform integer in [0, n) by rejection sampling (n > 0); identical on every platform.
uint64_t bounded_draw(std::mt19937_64& rng, uint64_t n);
// A permutation of 0..n-1 by Fisher-Yates driven by mt19937_64(seed).
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);

// The shard order of an epoch: a permutation of file indices (identity with shuffle off).
std::vector<int64_t> epoch_shard_order(int64_t num_files, uint64_t seed, int64_t epoch,
                                       bool shuffle);

// ranges[r] = what rank r reads in `epoch`. counts[i] = rows of file i (> 0). Every row of every
// file appears in exactly one range of exactly one rank.
std::vector<std::vector<ShardRange>> assign_ranges(const std::vector<int64_t>& counts, int world,
                                                   uint64_t seed, int64_t epoch, bool shuffle);

// min over ranks of floor(rows of rank / batch_size).
int64_t common_batches(const std::vector<std::vector<ShardRange>>& ranges, int64_t batch_size);

// The full plan of `rank` for `epoch`.
EpochPlan plan_epoch(const std::vector<int64_t>& counts, int world, int rank, uint64_t seed,
                     int64_t epoch, int64_t batch_size, bool shuffle, int64_t window);

}  // namespace kd::data

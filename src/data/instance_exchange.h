// Moves pre-training instances between the ranks of a parallel `pretraining-data` run so that
// every shard is written by exactly one rank and shard sizes are balanced over the whole job.
//
// Rank r's instances (already shuffled locally) get the global indices that follow those of
// ranks 0..r-1; global instance g belongs to shard g mod N; shard s is written by rank s mod W.
// The owner shuffles each shard with a seed derived from (seed, shard), so the output depends
// only on the seed and the world size, never on message timing.
#pragma once
#include <cstdint>
#include <vector>

#include "dist/communicator.h"
#include "text/pretraining_instances.h"

namespace kd::data {

// The shards this rank writes: shard ids comm.rank(), comm.rank() + W, ... below num_shards.
std::vector<int> owned_shards(int num_shards, int rank, int world);

// Collective: every rank must call it with the same num_shards and seed. Returns one instance
// list per entry of owned_shards(num_shards, rank, world), in that order.
std::vector<std::vector<text::CompactInstance>> exchange_to_shards(
    dist::Communicator& comm, std::vector<text::CompactInstance> local, int num_shards,
    uint64_t seed);

// Flat int32 encoding of instances (exposed for tests).
void append_encoded(const text::CompactInstance& x, int32_t shard, std::vector<int32_t>& out);
// Decodes a buffer of append_encoded records into (shard, instance) pairs; a malformed buffer
// is an error, not a silent truncation.
std::vector<std::pair<int32_t, text::CompactInstance>> decode_instances(const int32_t* p, size_t n);

}  // namespace kd::data

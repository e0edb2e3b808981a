// Helpers for data tests: deterministic synthetic instances and shards written with ShardWriter.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "data/shard_format.h"

namespace kd::test {

// Instance `global_id` of a synthetic corpus: input_ids[0] = 101 ([CLS]), input_ids[1] encodes
// the id (so tests can tell instances apart), a random length L in [P+2, T], masked positions
// distinct in [1, L), masked ids random, the remaining prediction slots padded with 0.
inline data::Instance make_instance(int64_t global_id, int T, int P, uint64_t salt = 7) {
  std::mt19937_64 rng(static_cast<uint64_t>(global_id) * 1000003u + salt);
  data::Instance in;
  const int L = P + 2 + static_cast<int>(rng() % static_cast<uint64_t>(T - P - 1));
  in.input_ids.assign(T, 0);
  in.input_mask.assign(T, 0);
  in.segment_ids.assign(T, 0);
  for (int t = 0; t < L; ++t) {
    in.input_ids[t] = 1000 + static_cast<int32_t>(rng() % 20000);
    in.input_mask[t] = 1;
    in.segment_ids[t] = t >= L / 2 ? 1 : 0;
  }
  in.input_ids[0] = 101;
  in.input_ids[1] = static_cast<int32_t>(global_id);
  in.masked_lm_positions.assign(P, 0);
  in.masked_lm_ids.assign(P, 0);
  const int npred = 1 + static_cast<int>(rng() % static_cast<uint64_t>(P));
  std::vector<int32_t> candidates;
  for (int t = 2; t < L; ++t) candidates.push_back(t);  // keep [CLS] and the id token unmasked
  for (int i = 0; i < npred && !candidates.empty(); ++i) {
    size_t j = rng() % candidates.size();
    in.masked_lm_positions[i] = candidates[j];
    in.masked_lm_ids[i] = 2000 + static_cast<int32_t>(rng() % 1000);
    candidates.erase(candidates.begin() + static_cast<long>(j));
  }
  in.next_sentence_label = static_cast<int8_t>(rng() % 2);
  return in;
}

// Writes instances [first_id, first_id + n) to `path`.
inline void write_shard(const std::string& path, int64_t first_id, int64_t n, int T, int P,
                        int gzip = 1, unsigned threads = 1) {
  data::ShardWriter w(path, T, P, gzip, threads);
  for (int64_t i = 0; i < n; ++i) w.append(make_instance(first_id + i, T, P));
  w.close();
}

}  // namespace kd::test

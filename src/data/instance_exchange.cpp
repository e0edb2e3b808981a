#include "data/instance_exchange.h"

#include <algorithm>

#include "common/check.h"

namespace kd::data {

std::vector<int> owned_shards(int num_shards, int rank, int world) {
  std::vector<int> out;
  for (int s = rank; s < num_shards; s += world) out.push_back(s);
  return out;
}

void append_encoded(const text::CompactInstance& x, int32_t shard, std::vector<int32_t>& out) {
  out.push_back(shard);
  out.push_back(static_cast<int32_t>(x.tokens.size()));
  out.push_back(static_cast<int32_t>(x.segment_a_end));
  out.push_back(x.random_next ? 1 : 0);
  out.push_back(static_cast<int32_t>(x.masked_positions.size()));
  out.insert(out.end(), x.tokens.begin(), x.tokens.end());
  out.insert(out.end(), x.masked_positions.begin(), x.masked_positions.end());
  out.insert(out.end(), x.masked_ids.begin(), x.masked_ids.end());
}

std::vector<std::pair<int32_t, text::CompactInstance>> decode_instances(const int32_t* p,
                                                                        size_t n) {
  std::vector<std::pair<int32_t, text::CompactInstance>> out;
  size_t i = 0;
  while (i < n) {
    KD_CHECK(i + 5 <= n, "instance exchange: truncated record header at {} of {}", i, n);
    const int32_t shard = p[i], ntok = p[i + 1], a_end = p[i + 2], random_next = p[i + 3],
                  nmask = p[i + 4];
    i += 5;
    KD_CHECK(ntok >= 0 && nmask >= 0 && i + ntok + 2 * size_t(nmask) <= n,
             "instance exchange: malformed record (tokens {}, masked {}) at {} of {}", ntok, nmask,
             i, n);
    text::CompactInstance x;
    x.tokens.assign(p + i, p + i + ntok);
    i += ntok;
    x.masked_positions.assign(p + i, p + i + nmask);
    i += nmask;
    x.masked_ids.assign(p + i, p + i + nmask);
    i += nmask;
    x.segment_a_end = static_cast<uint32_t>(a_end);
    x.random_next = random_next != 0;
    out.emplace_back(shard, std::move(x));
  }
  return out;
}

std::vector<std::vector<text::CompactInstance>> exchange_to_shards(
    dist::Communicator& comm, std::vector<text::CompactInstance> local, int num_shards,
    uint64_t seed) {
  KD_CHECK(num_shards >= 1, "exchange_to_shards: num_shards must be >= 1");
  const int world = comm.size(), rank = comm.rank();
  const auto mine = owned_shards(num_shards, rank, world);
  std::vector<std::vector<text::CompactInstance>> shards(mine.size());

  // Global offset of this rank's first instance: counts of lower ranks, summed.
  auto counts = torch::zeros({world}, torch::kFloat64);
  counts[rank] = static_cast<double>(local.size());
  comm.allreduce_host(counts);
  int64_t offset = 0;
  for (int r = 0; r < rank; ++r) offset += static_cast<int64_t>(counts[r].item<double>());

  if (world == 1) {
    for (size_t i = 0; i < local.size(); ++i)
      shards[(offset + i) % num_shards].push_back(std::move(local[i]));
  } else {
    // One gather per destination rank, in chunks so that no gather exceeds MPI's int counts.
    const size_t chunk_ints = std::max<size_t>(1 << 20, (size_t(1) << 28) / world);
    for (int dest = 0; dest < world; ++dest) {
      std::vector<int32_t> buf;
      for (size_t i = 0; i < local.size(); ++i) {
        const int shard = static_cast<int>((offset + i) % num_shards);
        if (shard % world == dest) append_encoded(local[i], shard, buf);
      }
      // Records are never split: a chunk ends at the first record boundary past chunk_ints.
      std::vector<size_t> cuts{0};
      for (size_t i = 0; i < buf.size();) {
        const size_t len = 5 + buf[i + 1] + 2 * size_t(buf[i + 4]);
        i += len;
        if (i - cuts.back() >= chunk_ints || i == buf.size()) cuts.push_back(i);
      }
      const int rounds = static_cast<int>(
          comm.allreduce_scalar(static_cast<double>(cuts.size() - 1), dist::ReduceOp::Max));
      for (int round = 0; round < rounds; ++round) {
        std::string part;
        if (round + 1 < static_cast<int>(cuts.size()))
          part.assign(reinterpret_cast<const char*>(buf.data() + cuts[round]),
                      (cuts[round + 1] - cuts[round]) * sizeof(int32_t));
        auto got = comm.gather_strings(part, dest);
        for (const auto& g : got)
          for (auto& [shard, x] : decode_instances(reinterpret_cast<const int32_t*>(g.data()),
                                                   g.size() / sizeof(int32_t)))
            shards[shard / world].push_back(std::move(x));
      }
    }
  }
  local.clear();
  for (size_t k = 0; k < mine.size(); ++k) {
    text::Rng rng(text::mix_seed(seed, 0x5A1, static_cast<uint64_t>(mine[k])));
    rng.shuffle(shards[k]);
  }
  return shards;
}

}  // namespace kd::data

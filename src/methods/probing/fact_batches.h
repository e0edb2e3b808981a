// How a relation's training facts are drawn, shared by the relmask and prompt tasks: one shuffled
// permutation per relation (deterministic for a seed), cycled; micro-batch b of rank r in a group
// of W takes positions (b·W + r)·B … (b·W + r)·B + B − 1, so the group's ranks see disjoint
// shares of each batch. The cursor (micro-batches drawn) is what a checkpoint keeps, so a resumed
// run continues the same sequence.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <numeric>
#include <vector>

#include "text/pretraining_instances.h"  // text::Rng

namespace kd::methods::probing {

template <class Item>
class FactBatches {
 public:
  FactBatches(std::vector<Item> items, uint64_t seed, int64_t batch_size, int rank, int world)
      : items_(std::move(items)),
        perm_(items_.size()),
        batch_size_(static_cast<size_t>(batch_size)),
        rank_(static_cast<size_t>(rank)),
        world_(static_cast<size_t>(world)) {
    std::iota(perm_.begin(), perm_.end(), 0);
    text::Rng rng(seed);
    rng.shuffle(perm_);
  }
  // This rank's next micro-batch.
  std::vector<Item> next() {
    std::vector<Item> out;
    for (size_t k = 0; k < batch_size_; ++k) {
      const size_t global = (static_cast<size_t>(drawn_) * world_ + rank_) * batch_size_ + k;
      out.push_back(items_[perm_[global % perm_.size()]]);
    }
    ++drawn_;
    return out;
  }
  nlohmann::json state() const { return {{"batches", drawn_}}; }
  void load_state(const nlohmann::json& state) { drawn_ = state.at("batches").get<int64_t>(); }

 private:
  std::vector<Item> items_;
  std::vector<size_t> perm_;
  size_t batch_size_, rank_, world_;
  int64_t drawn_ = 0;  // micro-batches drawn so far
};

}  // namespace kd::methods::probing

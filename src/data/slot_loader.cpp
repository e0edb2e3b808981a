#include "data/slot_loader.h"

#include "common/check.h"

namespace kd::data {

SlotLoader::SlotLoader(const LoaderOptions& options, const SlotLayout& layout) : layout_(layout) {
  const auto& l = layout_;
  KD_CHECK(l.data_world > 0 && l.data_accum > 0 && l.world > 0 && l.accum > 0 && l.rank >= 0 &&
               l.rank < l.world,
           "data slots: invalid layout ({} data ranks x {}, rank {} of {} x {})", l.data_world,
           l.data_accum, l.rank, l.world, l.accum);
  KD_CHECK(l.world * l.accum == l.slots(),
           "data slots: {} ranks x {} micro-steps do not cover the {} slots ({} x {}) of a step",
           l.world, l.accum, l.slots(), l.data_world, l.data_accum);
  const int64_t first_slot = l.rank * l.accum, last_slot = first_slot + l.accum - 1;
  first_data_rank_ = static_cast<int>(first_slot / l.data_accum);
  const int last_data_rank = static_cast<int>(last_slot / l.data_accum);
  for (int v = first_data_rank_; v <= last_data_rank; ++v)
    loaders_.push_back(std::make_unique<PretrainLoader>(options, v, l.data_world));
  taken_.assign(loaders_.size(), 0);
}

std::optional<PretrainBatch> SlotLoader::next() {
  const auto& l = layout_;
  const int64_t slot = l.rank * l.accum + micro_;
  const auto i = static_cast<size_t>(slot / l.data_accum - first_data_rank_);
  const int64_t wanted = slot % l.data_accum;
  // Another rank's micro-batches of a shared data rank come first: read and dropped.
  for (; taken_[i] < wanted; ++taken_[i])
    if (!loaders_[i]->next()) return std::nullopt;
  auto batch = loaders_[i]->next();
  ++taken_[i];
  if (++micro_ == l.accum) {
    // The step is done: every loader moves to the step's end (past other ranks' batches).
    micro_ = 0;
    for (size_t j = 0; j < loaders_.size(); ++j) {
      for (; taken_[j] < l.data_accum; ++taken_[j])
        if (!loaders_[j]->next()) return batch;
      taken_[j] = 0;
    }
  }
  return batch;
}

nlohmann::json SlotLoader::cursor() const {
  KD_CHECK(micro_ == 0, "data slots: cursor() in the middle of a step (micro-step {})", micro_);
  return loaders_.front()->cursor();
}

void SlotLoader::restore(const nlohmann::json& cursor) {
  for (auto& loader : loaders_) loader->restore(cursor);
  taken_.assign(loaders_.size(), 0);
  micro_ = 0;
}

}  // namespace kd::data

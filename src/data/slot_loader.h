// The micro-batches of one rank when a step's batch is a fixed set of numbered "data slots", so
// that a checkpoint resumes on another number of ranks with the same data in the same steps.
//
// A step consumes S = data_world × data_accum micro-batches, fixed when the run started: slot k
// is micro-batch k % data_accum (of the step) of data rank k / data_accum, i.e. what
// PretrainLoader(rank = k / data_accum, world = data_world) returns. A run on `world` ranks with
// accum = S / world micro-steps gives rank r the slots r·accum .. r·accum + accum − 1. Every data
// rank's loader stands at the same position after each step (all ranks run the same batches per
// epoch), so that one position is the global sample cursor saved in checkpoints.
// With world == data_world nothing changes: one loader, no batch skipped. Fewer ranks read
// several data ranks' loaders; more ranks than data ranks read a shared data rank's batches and
// skip the ones that are another rank's (reading them twice: the price of the change).
#pragma once
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <vector>

#include "data/loader_types.h"
#include "data/pretrain_loader.h"

namespace kd::data {

struct SlotLayout {
  int data_world = 1;      // ranks of the run that fixed the slots
  int64_t data_accum = 1;  // its micro-steps per step
  int world = 1;           // this run
  int64_t accum = 1;
  int rank = 0;
  int64_t slots() const { return data_world * data_accum; }
  // The same ranks and micro-steps as the data: the plain case.
  static SlotLayout identity(int rank, int world, int64_t accum) {
    return {world, accum, world, accum, rank};
  }
};

class SlotLoader {
 public:
  SlotLoader(const LoaderOptions& options, const SlotLayout& layout);

  // This rank's next micro-batch, in slot order; nullopt when the data ended (max_epochs).
  std::optional<PretrainBatch> next();
  // The data ranks' common position, taken at a step boundary (JSON of PretrainLoader::cursor,
  // which also records data_world and checks the data identity on restore).
  nlohmann::json cursor() const;
  void restore(const nlohmann::json& cursor);

  const SlotLayout& layout() const { return layout_; }
  int64_t batches_per_epoch() const { return loaders_.front()->batches_per_epoch(); }
  int seq_len() const { return loaders_.front()->seq_len(); }
  int max_predictions() const { return loaders_.front()->max_predictions(); }
  const std::vector<std::string>& files() const { return loaders_.front()->files(); }

 private:
  SlotLayout layout_;
  int first_data_rank_ = 0;
  std::vector<std::unique_ptr<PretrainLoader>> loaders_;  // data ranks first_data_rank_, ...
  std::vector<int64_t> taken_;  // per loader: batches read in the current step
  int64_t micro_ = 0;           // this rank's micro-step within the current step
};

}  // namespace kd::data

// The loader's deterministic batch stream, without threads: given (options, shard sizes, rank,
// world) the batch at any LoaderPosition is fixed, so seek() + produce() recreates exactly the
// batches of an uninterrupted run. PretrainLoader runs one of these on its prefetch thread.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/batch_builder.h"
#include "data/loader_types.h"
#include "data/shard_assignment.h"
#include "data/shard_format.h"

namespace kd::data {

class BatchProducer {
 public:
  // counts[i] = rows of options.files[i]; every shard has T = seq_len, P = max_predictions.
  BatchProducer(const LoaderOptions& options, std::vector<int64_t> counts, int seq_len,
                int max_predictions, int rank, int world);

  // The next batch is batch `pos.batch` of epoch `pos.epoch` (a batch index equal to the epoch's
  // batch count means the start of the next epoch).
  void seek(LoaderPosition pos);
  // The next batch and the position after it, or nullopt once options.max_epochs are done.
  // Errors (corrupt shard) throw kd::Error naming the file and rows.
  std::optional<std::pair<PretrainBatch, LoaderPosition>> produce();
  LoaderPosition position() const { return pos_; }

 private:
  EpochPlan plan_for(int64_t epoch) const;
  void load_piece();

  LoaderOptions opts_;
  std::vector<int64_t> counts_;
  int rank_, world_;
  BatchBuilder builder_;
  LoaderPosition pos_;
  EpochPlan plan_;
  int64_t plan_epoch_ = -1;
  size_t piece_ = 0;     // current piece of plan_
  int64_t offset_ = 0;   // rows of the current piece already used
  int64_t loaded_ = -1;  // index of the piece in block_/perm_ (-1: none)
  InstanceBlock block_;
  std::vector<int64_t> perm_;
  std::unique_ptr<ShardReader> reader_;
  int64_t reader_file_ = -1;
};

}  // namespace kd::data

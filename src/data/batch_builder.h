// Assembles PretrainBatch tensors row by row from shard blocks: int32/int8 rows widen to int64,
// and MLM labels are scattered from (masked_lm_positions, masked_lm_ids).
#pragma once
#include <string>

#include "data/loader_types.h"
#include "data/shard_format.h"

namespace kd::data {

class BatchBuilder {
 public:
  BatchBuilder(int64_t batch_size, int seq_len, int max_predictions, bool trim_padding,
               int64_t vocab_size = 0);

  // Appends row `row` of `block`; `file`/`file_row` only name the row in error messages
  // (a masked position outside [0, T) is an error).
  void add(const InstanceBlock& block, int64_t row, const std::string& file, int64_t file_row);
  bool full() const { return rows_ == batch_size_; }
  int64_t rows() const { return rows_; }
  // The finished batch; the builder starts a new one.
  PretrainBatch take();
  // Drops the rows added so far.
  void reset();

 private:
  int64_t batch_size_;
  int seq_len_;
  int max_predictions_;
  int64_t vocab_size_;  // 0: ids unchecked
  bool trim_padding_;
  int64_t rows_ = 0;
  int64_t longest_ = 0;  // max over rows of (last attended or masked position + 1)
  PretrainBatch batch_;
};

}  // namespace kd::data

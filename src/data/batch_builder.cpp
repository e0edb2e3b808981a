#include "data/batch_builder.h"

#include <algorithm>

#include "common/check.h"

namespace kd::data {

BatchBuilder::BatchBuilder(int64_t batch_size, int seq_len, int max_predictions, bool trim_padding,
                           int64_t vocab_size)
    : batch_size_(batch_size),
      seq_len_(seq_len),
      max_predictions_(max_predictions),
      vocab_size_(vocab_size),
      trim_padding_(trim_padding) {
  KD_CHECK(batch_size > 0 && seq_len > 0, "BatchBuilder: batch size {} and T {} must be > 0",
           batch_size, seq_len);
  reset();
}

void BatchBuilder::reset() {
  const auto opts = torch::TensorOptions().dtype(torch::kLong);
  batch_ = PretrainBatch{};
  batch_.input_ids = torch::empty({batch_size_, seq_len_}, opts);        // [B, T]
  batch_.token_type_ids = torch::empty({batch_size_, seq_len_}, opts);   // [B, T]
  batch_.attention_mask = torch::empty({batch_size_, seq_len_}, opts);   // [B, T]
  batch_.mlm_labels = torch::full({batch_size_, seq_len_}, -100, opts);  // [B, T]
  batch_.nsp_labels = torch::empty({batch_size_}, opts);                 // [B]
  rows_ = 0;
  longest_ = 0;
}

void BatchBuilder::add(const InstanceBlock& b, int64_t row, const std::string& file,
                       int64_t file_row) {
  KD_CHECK(rows_ < batch_size_, "BatchBuilder: batch already full");
  KD_CHECK(b.seq_len == seq_len_ && b.max_predictions == max_predictions_,
           "shard '{}': T={} P={} differ from the loader's T={} P={}", file, b.seq_len,
           b.max_predictions, seq_len_, max_predictions_);
  const int64_t T = seq_len_, P = max_predictions_;
  const int32_t* ids = b.input_ids.data() + row * T;
  const int8_t* mask = b.input_mask.data() + row * T;
  const int8_t* seg = b.segment_ids.data() + row * T;
  int64_t* out_ids = batch_.input_ids.data_ptr<int64_t>() + rows_ * T;
  int64_t* out_seg = batch_.token_type_ids.data_ptr<int64_t>() + rows_ * T;
  int64_t* out_mask = batch_.attention_mask.data_ptr<int64_t>() + rows_ * T;
  int64_t* out_lab = batch_.mlm_labels.data_ptr<int64_t>() + rows_ * T;
  // Every value is checked here, where the file and row are known: an id past the vocabulary
  // would otherwise fail deep inside an embedding lookup, and a mask of 62 would become NaN.
  const auto bad = [&](const char* field, int64_t index, int64_t value, const char* range) {
    KD_FAIL(
        "shard '{}' row {}: {}[{}] = {} is outside {} (corrupt shard, or one made with "
        "another vocabulary)",
        file, file_row, field, index, value, range);
  };
  // The range text is formatted only on failure: add() runs for every row of every batch.
  const auto bad_id = [&](const char* field, int64_t index, int64_t value) {
    bad(field, index, value, fmt::format("the vocabulary [0, {})", vocab_size_).c_str());
  };
  int64_t last = 0;
  for (int64_t t = 0; t < T; ++t) {
    if (ids[t] < 0 || (vocab_size_ > 0 && ids[t] >= vocab_size_)) bad_id("input_ids", t, ids[t]);
    if (seg[t] != 0 && seg[t] != 1) bad("segment_ids", t, seg[t], "{0, 1}");
    if (mask[t] != 0 && mask[t] != 1) bad("input_mask", t, mask[t], "{0, 1}");
    out_ids[t] = ids[t];
    out_seg[t] = seg[t];
    out_mask[t] = mask[t];
    batch_.num_tokens += mask[t];
    if (mask[t]) last = t + 1;
  }
  const int32_t* pos = b.masked_lm_positions.data() + row * P;
  const int32_t* lab = b.masked_lm_ids.data() + row * P;
  for (int64_t p = 0; p < P; ++p) {
    // Position 0 is [CLS], never masked: a 0 marks an unused prediction slot.
    if (pos[p] == 0) continue;
    KD_CHECK(pos[p] > 0 && pos[p] < T,
             "shard '{}' row {}: masked_lm_positions[{}] = {} is outside [0, {}) (corrupt shard)",
             file, file_row, p, pos[p], T);
    if (lab[p] < 0 || (vocab_size_ > 0 && lab[p] >= vocab_size_))
      bad_id("masked_lm_ids", p, lab[p]);
    if (out_lab[pos[p]] == -100) ++batch_.num_masked;
    out_lab[pos[p]] = lab[p];
    last = std::max<int64_t>(last, pos[p] + 1);
  }
  const int64_t nsp = b.next_sentence_labels[row];
  if (nsp != 0 && nsp != 1) bad("next_sentence_labels", 0, nsp, "{0, 1}");
  batch_.nsp_labels.data_ptr<int64_t>()[rows_] = nsp;
  longest_ = std::max(longest_, last);
  ++rows_;
}

PretrainBatch BatchBuilder::take() {
  KD_CHECK(full(), "BatchBuilder: take() on a batch with {} of {} rows", rows_, batch_size_);
  PretrainBatch out = std::move(batch_);
  if (trim_padding_) {
    const int64_t t = std::min<int64_t>(seq_len_, (std::max<int64_t>(longest_, 1) + 7) / 8 * 8);
    if (t < seq_len_) {
      for (auto* x : {&out.input_ids, &out.token_type_ids, &out.attention_mask, &out.mlm_labels})
        *x = x->slice(1, 0, t).contiguous();  // [B, t]
    }
  }
  reset();
  return out;
}

}  // namespace kd::data

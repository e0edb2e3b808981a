// Plain types of the pre-training data loader (see pretrain_loader.h).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kd::data {

// One drop-last batch (constant B) for MLM + NSP pre-training, on the CPU.
struct PretrainBatch {
  torch::Tensor input_ids;       // [B, T] int64
  torch::Tensor token_type_ids;  // [B, T] int64 (segment_ids)
  torch::Tensor attention_mask;  // [B, T] int64 (input_mask)
  torch::Tensor mlm_labels;      // [B, T] int64, -100 where not masked
  torch::Tensor nsp_labels;      // [B] int64, 1 = random next segment (NVIDIA convention)
  int64_t num_tokens = 0;        // sum of attention_mask
  int64_t num_masked = 0;        // entries of mlm_labels != -100
};

// Moves every tensor of a batch to `device`. The copies are non-blocking; from pinned batches
// (LoaderOptions::pin_memory) they really run asynchronously, from pageable memory CUDA makes
// them synchronous.
inline void move_batch_to(PretrainBatch& b, const torch::Device& device) {
  for (auto* t : {&b.input_ids, &b.token_type_ids, &b.attention_mask, &b.mlm_labels, &b.nsp_labels})
    *t = t->to(device, /*non_blocking=*/true);
}

// Copies every tensor of a batch into page-locked host memory (LibTorch's caching host
// allocator, which keeps a block from reuse until the copies reading it have finished).
inline void pin_batch(PretrainBatch& b) {
  for (auto* t : {&b.input_ids, &b.token_type_ids, &b.attention_mask, &b.mlm_labels, &b.nsp_labels})
    *t = t->pin_memory();
}

struct LoaderOptions {
  std::vector<std::string> files;  // shard paths (globs are expanded again, see expand_globs)
  int64_t batch_size = 0;          // per rank
  uint64_t seed = 0;
  int prefetch = 4;                // batches prepared ahead by a thread; 0 = no thread
  bool shuffle = true;             // shard order, window order and row order per epoch
  int max_seq_length = 0;          // 0 = from the shards; else must equal the shards' T
  int64_t max_epochs = 0;          // 0 = endless; else next() returns nullopt after them
  bool trim_padding = false;       // cut T to the batch's longest row, rounded up to 8
  int64_t shuffle_window = 32768;  // rows read (and shuffled) at once; bounds memory
  int64_t vocab_size = 0;          // > 0: token and label ids are checked against it
  bool pin_memory = false;         // batches pinned on the prefetch thread (CUDA runs only)
};

// Where the loader stands: `batch` batches of epoch `epoch` have been returned.
struct LoaderPosition {
  int64_t epoch = 0;
  int64_t batch = 0;
  bool operator==(const LoaderPosition& o) const { return epoch == o.epoch && batch == o.batch; }
};

}  // namespace kd::data

// Gradient synchronisation policy, separate from transport (the Communicator):
// parameters are packed into buckets (a small first bucket so communication starts early, then
// ~25 MB ones) in reverse registration order, which is roughly the order in which backward
// produces gradients. A hook on each parameter copies its gradient into the bucket's flat buffer;
// when a bucket is complete its all-reduce is launched from inside that autograd hook. What that
// means depends on the backend: with MPI's default blocking all-reduce the hook waits for it, so
// communication adds to backward (no overlap); with dist.comm_thread (the blocking all-reduce on
// a communication thread), dist.mpi_nonblocking (MPI_Iallreduce) or NCCL (its own stream) it
// runs while backward goes on. Buckets launch in a fixed order on every
// rank so collectives match. finish() waits, averages
// over ranks and makes each .grad a view of its bucket (no copy back). On non-final
// gradient-accumulation micro-steps the hooks do nothing: gradients accumulate locally and nothing
// is communicated.
// Deferred rows (dist.defer_embedding_grad): a tied word embedding's gradient is complete only
// at the end of backward, because the input lookup is the last op backward reaches, so its
// bucket (70% of the quickstart model's bytes) could not overlap anything. When the model defers
// its lookup gradients (model::EmbeddingTable), the weight's hook fires as soon as the decoder's
// part is ready: the weight goes first in launch order, its own bucket, at the start of backward.
// The lookup's part (only the rows of the batch's tokens) is reduced in finish(): the union of
// the ranks' rows (an all-reduce of a [rows] presence vector), then those rows' sums.
// bf16_wire (dist.grad_bf16): each bucket is cast to bf16 for the all-reduce (half the bytes,
// summed in fp32 per pair and rounded to bf16 by the communicator) and copied back to fp32
// before averaging, as DDP's bf16 compression hook; deferred rows stay fp32.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "dist/communicator.h"

namespace kd::dist {

// Rows of parameter `param` (an index into the reducer's params) whose gradient arrives after
// backward: `take` returns (ids [U] int64 ascending and unique, rows [U, dim]) summed over the
// micro-steps since the last finish().
struct DeferredRows {
  size_t param = 0;
  std::function<std::pair<torch::Tensor, torch::Tensor>()> take;
};

struct GradReducerOptions {
  double bucket_mb = 25.0;
  double first_bucket_mb = 1.0;
  bool bf16_wire = false;
  std::vector<DeferredRows> deferred;
};

class GradReducer {
 public:
  GradReducer(std::shared_ptr<Communicator> comm, std::vector<torch::Tensor> params,
              GradReducerOptions options = {});
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Call before each micro-step's backward; `sync` is true on the last micro-step of a step.
  void prepare(bool sync);
  // Call after backward of the syncing micro-step: completes every bucket's all-reduce and
  // leaves the rank-averaged gradient in each parameter's .grad.
  void finish();

  size_t num_buckets() const { return buckets_.size(); }
  // Whether bucket i's all-reduce has been launched and has completed (tests: with a
  // communication thread, backward goes on while a launched bucket is still being reduced).
  bool bucket_reduced(size_t i) const { return buckets_[i].work && buckets_[i].work->test(); }
  bool bucket_launched(size_t i) const { return buckets_[i].work != nullptr; }
  size_t bucket_of(size_t param) const { return location_[param].first; }
  int64_t total_bytes() const;

 private:
  struct Bucket {
    std::vector<size_t> params;   // indices into params_
    std::vector<int64_t> offset;  // element offset of each param in flat
    torch::Tensor flat;           // [numel] fp32, same device as params
    torch::Tensor wire;           // [numel] bf16 copy that is all-reduced (bf16_wire), or undefined
    size_t pending = 0;           // gradients still missing in this backward
    std::unique_ptr<Work> work;
  };
  void on_gradient(size_t param_index, const torch::Tensor& grad);
  void launch_ready_buckets();
  void fill_from_grad(size_t bucket, size_t slot, const torch::Tensor* incoming);
  // Launches the all-reduce of each deferred parameter's rows (after every bucket).
  void launch_deferred_rows();
  void add_deferred_rows(double scale);

  struct DeferredState {
    DeferredRows source;
    torch::Tensor ids;   // [U] rows present on some rank
    torch::Tensor rows;  // [U, dim] this rank's sums, then every rank's
    std::unique_ptr<Work> work;
  };
  std::vector<DeferredState> deferred_;

  std::shared_ptr<Communicator> comm_;
  std::vector<torch::Tensor> params_;
  std::vector<std::pair<size_t, size_t>> location_;  // param -> (bucket, slot)
  std::vector<bool> seen_;                           // gradient arrived in this backward
  std::vector<Bucket> buckets_;
  std::vector<std::pair<size_t, unsigned>> hooks_;  // (param index, hook handle)
  size_t next_launch_ = 0;
  bool armed_ = false;
};

// Rank 0's values overwrite every rank's (initial parameters, buffers): model tensors, on the
// model's device (data plane).
void broadcast_tensors(Communicator& comm, const std::vector<torch::Tensor>& tensors, int root = 0);
// A checksum of the tensors (sum of |x| weighted by position) that differs when any value does.
double tensors_checksum(const std::vector<torch::Tensor>& tensors);
// Throws naming the disagreement when the checksum differs between ranks (all-reduce min/max).
void check_tensors_identical(Communicator& comm, const std::vector<torch::Tensor>& tensors,
                             const std::string& what);

}  // namespace kd::dist

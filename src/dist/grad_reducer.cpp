#include "dist/grad_reducer.h"

#include "common/check.h"
#include "common/log.h"

namespace kd::dist {

GradReducer::GradReducer(std::shared_ptr<Communicator> comm, std::vector<torch::Tensor> params,
                         GradReducerOptions options)
    : comm_(std::move(comm)), params_(std::move(params)) {
  KD_CHECK(options.bucket_mb > 0 && options.first_bucket_mb > 0,
           "dist.bucket_mb and dist.first_bucket_mb must be positive");
  location_.resize(params_.size());
  seen_.assign(params_.size(), false);
  const int64_t first_cap = static_cast<int64_t>(options.first_bucket_mb * 1024 * 1024 / 4);
  const int64_t cap = static_cast<int64_t>(options.bucket_mb * 1024 * 1024 / 4);
  // Launch order: deferred-row parameters first (their hooks fire at the start of backward),
  // then reverse registration order (the last layers' gradients are ready first).
  std::vector<size_t> order;
  std::vector<bool> deferred(params_.size(), false);
  for (auto& d : options.deferred) {
    KD_CHECK(d.param < params_.size() && !deferred[d.param] && d.take,
             "GradReducer: bad deferred-rows parameter {}", d.param);
    KD_CHECK(params_[d.param].dim() == 2, "GradReducer: deferred rows need a 2-d parameter");
    deferred[d.param] = true;
    order.push_back(d.param);
    deferred_.push_back({d, {}, {}, nullptr});
  }
  for (size_t k = params_.size(); k-- > 0;)
    if (!deferred[k]) order.push_back(k);
  // Each deferred parameter has a bucket of its own; then the small first bucket, then ~cap.
  const size_t first_regular = options.deferred.size();
  for (size_t i = 0; i < order.size(); ++i) {
    const size_t k = order[i];
    const auto& p = params_[k];
    KD_CHECK(p.scalar_type() == torch::kFloat, "GradReducer: parameter {} is {}, expected fp32", k,
             c10::toString(p.scalar_type()));
    const bool new_bucket = [&] {
      if (buckets_.empty() || i <= first_regular) return true;
      const auto& last = buckets_.back();
      const int64_t limit = buckets_.size() - 1 == first_regular ? first_cap : cap;
      return last.offset.back() + params_[last.params.back()].numel() + p.numel() > limit;
    }();
    if (new_bucket) buckets_.emplace_back();
    auto& b = buckets_.back();
    int64_t off = b.params.empty() ? 0 : b.offset.back() + params_[b.params.back()].numel();
    location_[k] = {buckets_.size() - 1, b.params.size()};
    b.params.push_back(k);
    b.offset.push_back(off);
  }
  for (auto& b : buckets_) {
    int64_t n = b.offset.back() + params_[b.params.back()].numel();
    b.flat = torch::zeros({n}, params_[b.params.front()].options());
    if (options.bf16_wire) b.wire = torch::empty({n}, b.flat.options().dtype(torch::kBFloat16));
  }
  if (comm_->size() > 1) {
    for (size_t k = 0; k < params_.size(); ++k) {
      unsigned h = params_[k].register_hook([this, k](torch::Tensor g) { on_gradient(k, g); });
      hooks_.emplace_back(k, h);
    }
  }
  log_debug("dist", "grad reducer: {} buckets, {:.1f} MB", buckets_.size(), total_bytes() / 1e6);
}

GradReducer::~GradReducer() {
  for (auto& [k, h] : hooks_) params_[k].remove_hook(h);
}

int64_t GradReducer::total_bytes() const {
  int64_t n = 0;
  for (const auto& b : buckets_) n += b.flat.numel() * 4;
  return n;
}

void GradReducer::prepare(bool sync) {
  armed_ = sync && comm_->size() > 1;
  if (!armed_) return;
  std::fill(seen_.begin(), seen_.end(), false);
  for (auto& b : buckets_) {
    b.pending = b.params.size();
    b.work.reset();
  }
  next_launch_ = 0;
}

// Bucket slot = gradients of earlier micro-steps (already in .grad) + this backward's gradient.
void GradReducer::fill_from_grad(size_t bi, size_t slot, const torch::Tensor* incoming) {
  auto& b = buckets_[bi];
  const auto& p = params_[b.params[slot]];
  auto view = b.flat.narrow(0, b.offset[slot], p.numel());
  const auto& accumulated = p.grad();
  if (incoming && accumulated.defined()) {
    torch::add_out(view, accumulated.reshape(-1), incoming->reshape(-1));
  } else if (incoming) {
    view.copy_(incoming->reshape(-1));
  } else if (accumulated.defined()) {
    view.copy_(accumulated.reshape(-1));
  } else {
    view.zero_();
  }
}

void GradReducer::on_gradient(size_t k, const torch::Tensor& grad) {
  if (!armed_) return;
  auto [bi, slot] = location_[k];
  KD_CHECK(!seen_[k], "GradReducer: parameter {} received two gradients in one backward", k);
  seen_[k] = true;
  torch::NoGradGuard no_grad;
  fill_from_grad(bi, slot, &grad);
  --buckets_[bi].pending;
  launch_ready_buckets();
}

void GradReducer::launch_ready_buckets() {
  ModelTensorScope model_tensors;
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    auto& b = buckets_[next_launch_++];
    if (b.wire.defined()) {
      b.wire.copy_(b.flat);
      b.work = comm_->allreduce_async(b.wire, ReduceOp::Sum);
    } else {
      b.work = comm_->allreduce_async(b.flat, ReduceOp::Sum);
    }
  }
  // Drive progress of what is in flight (MPI progresses inside MPI calls only).
  for (size_t i = 0; i < next_launch_; ++i) buckets_[i].work->test();
}

void GradReducer::finish() {
  if (!armed_) return;
  armed_ = false;
  torch::NoGradGuard no_grad;
  // Parameters that got no gradient in this backward (unused this step) still take part, so
  // every rank launches the same collectives.
  for (size_t bi = next_launch_; bi < buckets_.size(); ++bi) {
    auto& b = buckets_[bi];
    for (size_t slot = 0; slot < b.params.size(); ++slot) {
      if (!seen_[b.params[slot]]) {
        fill_from_grad(bi, slot, nullptr);
        seen_[b.params[slot]] = true;
        --b.pending;
      }
    }
  }
  launch_ready_buckets();
  launch_deferred_rows();
  const double inv_world = 1.0 / comm_->size();
  for (auto& b : buckets_) {
    b.work->wait();
    if (b.wire.defined()) b.flat.copy_(b.wire);
    b.flat.mul_(inv_world);
    for (size_t slot = 0; slot < b.params.size(); ++slot) {
      auto& p = params_[b.params[slot]];
      // The gradient becomes a view of the bucket (no copy back, as DDP's
      // gradient_as_bucket_view); the optimizer's zero_grad() drops it before the next backward.
      p.mutable_grad() = b.flat.narrow(0, b.offset[slot], p.numel()).view(p.sizes());
    }
  }
  add_deferred_rows(inv_world);
}

void GradReducer::launch_deferred_rows() {
  ModelTensorScope model_tensors;
  for (auto& d : deferred_) {
    auto [ids, rows] = d.source.take();
    const auto& p = params_[d.source.param];
    KD_CHECK(ids.dim() == 1 && rows.dim() == 2 && rows.size(0) == ids.numel() &&
                 rows.size(1) == p.size(1),
             "GradReducer: deferred rows of parameter {} have shape {} for ids {}", d.source.param,
             c10::str(rows.sizes()), c10::str(ids.sizes()));
    // Which rows some rank has: a presence vector summed over ranks.
    auto present = torch::zeros({p.size(0)}, p.options().requires_grad(false));
    if (ids.numel() > 0) present.index_fill_(0, ids.to(p.device()), 1.0);
    comm_->allreduce_async(present, ReduceOp::Sum)->wait();
    auto in_union = present > 0;
    d.ids = in_union.nonzero().squeeze(1);
    auto slot = in_union.to(torch::kLong).cumsum(0) - 1;  // row id -> position among d.ids
    d.rows = torch::zeros({d.ids.numel(), p.size(1)}, present.options());
    if (ids.numel() > 0) d.rows.index_add_(0, slot.index_select(0, ids.to(p.device())), rows);
    d.work = comm_->allreduce_async(d.rows, ReduceOp::Sum);
  }
}

void GradReducer::add_deferred_rows(double scale) {
  for (auto& d : deferred_) {
    d.work->wait();
    d.work.reset();
    auto& p = params_[d.source.param];
    p.mutable_grad().index_add_(0, d.ids, d.rows.mul_(scale));
    d.ids = torch::Tensor();
    d.rows = torch::Tensor();
  }
}

void broadcast_tensors(Communicator& comm, const std::vector<torch::Tensor>& tensors, int root) {
  if (comm.size() == 1) return;
  torch::NoGradGuard no_grad;
  ModelTensorScope model_tensors;
  for (const auto& t : tensors) {
    auto c = t.contiguous();
    comm.broadcast(c, root);
    if (c.data_ptr() != t.data_ptr()) t.copy_(c);
  }
}

double tensors_checksum(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  double sum = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    auto flat = tensors[i].detach().reshape(-1).to(torch::kDouble);
    auto pos = torch::arange(1, flat.numel() + 1, flat.options()).remainder(97.0).add_(1.0);
    sum += (i + 1) * (flat * pos).sum().item<double>();
  }
  return sum;
}

void check_tensors_identical(Communicator& comm, const std::vector<torch::Tensor>& tensors,
                             const std::string& what) {
  double mine = tensors_checksum(tensors);
  double lo = comm.allreduce_scalar(mine, ReduceOp::Min);
  double hi = comm.allreduce_scalar(mine, ReduceOp::Max);
  if (lo != hi) {
    auto all = comm.gather_strings(fmt::format("rank {}: {:.17g}", comm.rank(), mine), 0);
    std::string listing;
    for (const auto& s : all) listing += "\n  " + s;
    KD_FAIL("{} differ between ranks (checksum min {:.17g} max {:.17g}){}", what, lo, hi, listing);
  }
}

}  // namespace kd::dist

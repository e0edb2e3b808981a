#include "model/layer_norm.h"

#include "common/check.h"

namespace kd::model {
namespace {
// Re-registers a parameter under the same name with a new (smaller) tensor.
void replace_param(torch::OrderedDict<std::string, torch::Tensor>& params, const std::string& name,
                   torch::Tensor& member, const torch::Tensor& value) {
  auto v = value.detach().clone().contiguous().set_requires_grad(member.requires_grad());
  params[name] = v;
  member = v;
}
void check_index(const torch::Tensor& idx, int64_t n, const char* what) {
  KD_CHECK(idx.numel() == 0 || (idx.min().item<int64_t>() >= 0 && idx.max().item<int64_t>() < n),
           "{}: index out of range for size {}", what, n);
}
}  // namespace

LayerNormImpl::LayerNormImpl(int64_t size, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({size}));
  bias = register_parameter("bias", torch::zeros({size}));
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  if (!gate_.defined())
    return torch::layer_norm(x.to(torch::kFloat), {weight.size(0)}, weight, bias, eps_);
  auto xf = x.to(torch::kFloat);
  auto gate = gate_.to(xf.device());
  auto present = (gate != 0).to(torch::kFloat);  // [H]
  auto n = present.sum().clamp_min(1.0);
  auto xm = xf * present;
  auto mean = xm.sum(-1, true) / n;
  auto centred = (xm - mean) * present;
  auto var = centred.pow(2).sum(-1, true) / n;
  return (centred * torch::rsqrt(var + eps_) * weight + bias) * gate;
}

void LayerNormImpl::fold_gate() {
  if (!gate_.defined()) return;
  torch::NoGradGuard no_grad;
  auto g = gate_.detach().to(weight.device(), torch::kFloat);
  weight.mul_(g);
  bias.mul_(g);
  gate_ = torch::Tensor();
}

void LayerNormImpl::keep(const torch::Tensor& index) {
  auto idx = index.to(weight.device(), torch::kLong).flatten();
  check_index(idx, size(), "LayerNorm::keep");
  torch::NoGradGuard no_grad;
  replace_param(parameters_, "weight", weight, weight.index_select(0, idx));
  replace_param(parameters_, "bias", bias, bias.index_select(0, idx));
  if (gate_.defined()) gate_ = gate_.detach().index_select(0, idx.to(gate_.device()));
}

void LayerNormImpl::pretty_print(std::ostream& stream) const {
  stream << "kd::model::LayerNorm(" << weight.size(0) << ", eps=" << eps_ << ")";
}

EmbeddingTableImpl::EmbeddingTableImpl(int64_t num, int64_t dim, int64_t padding_idx)
    : padding_idx_(padding_idx) {
  weight = register_parameter("weight", torch::zeros({num, dim}));
}

torch::Tensor EmbeddingTableImpl::forward(const torch::Tensor& ids) {
  if (!defer_ || !torch::GradMode::is_enabled() || !weight.requires_grad())
    return torch::embedding(weight, ids, padding_idx_);
  auto out = torch::embedding(weight.detach(), ids, padding_idx_).requires_grad_(true);
  deferred_.emplace_back(ids, out);
  return out;
}

void EmbeddingTableImpl::set_defer_lookup_gradients(bool on) {
  defer_ = on;
  deferred_.clear();
}

std::pair<torch::Tensor, torch::Tensor> EmbeddingTableImpl::take_lookup_gradients() {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> ids, rows;
  for (auto& [i, out] : deferred_) {
    if (!out.grad().defined()) continue;  // a forward that was never backwarded
    ids.push_back(i.reshape(-1).to(torch::kLong));
    rows.push_back(out.grad().reshape({-1, dim()}).to(weight.scalar_type()));
  }
  deferred_.clear();
  auto opts = weight.options().requires_grad(false);
  if (ids.empty())
    return {torch::empty({0}, opts.dtype(torch::kLong)), torch::empty({0, dim()}, opts)};
  auto all_ids = torch::cat(ids);
  auto all_rows = torch::cat(rows);
  if (padding_idx_ >= 0) {  // nn.Embedding(padding_idx): that row gets no gradient
    auto keep = (all_ids != padding_idx_).nonzero().squeeze(1);
    all_ids = all_ids.index_select(0, keep);
    all_rows = all_rows.index_select(0, keep);
  }
  auto [unique, inverse] = torch::_unique(all_ids, /*sorted=*/true, /*return_inverse=*/true);
  auto summed = torch::zeros({unique.numel(), dim()}, opts);
  summed.index_add_(0, inverse, all_rows);
  return {unique, summed};
}

void EmbeddingTableImpl::keep_cols(const torch::Tensor& index) {
  auto idx = index.to(weight.device(), torch::kLong).flatten();
  check_index(idx, dim(), "EmbeddingTable::keep_cols");
  torch::NoGradGuard no_grad;
  replace_param(parameters_, "weight", weight, weight.index_select(1, idx));
}

void EmbeddingTableImpl::pretty_print(std::ostream& stream) const {
  stream << "kd::model::EmbeddingTable(" << weight.size(0) << ", " << weight.size(1) << ")";
}

}  // namespace kd::model

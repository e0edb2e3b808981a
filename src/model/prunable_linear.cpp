#include "model/prunable_linear.h"

#include "common/check.h"
#include "model/shape_util.h"

namespace kd::model {

void WeightTransform::keep_rows(const torch::Tensor&) {
  KD_FAIL(
      "PrunableLinear::keep_rows: the attached weight transform does not support surgery; "
      "fold_transform() or clear_transform() first, or override WeightTransform::keep_rows");
}
void WeightTransform::keep_cols(const torch::Tensor&) {
  KD_FAIL(
      "PrunableLinear::keep_cols: the attached weight transform does not support surgery; "
      "fold_transform() or clear_transform() first, or override WeightTransform::keep_cols");
}

PrunableLinearImpl::PrunableLinearImpl(int64_t in_features, int64_t out_features, bool with_bias) {
  KD_CHECK(in_features >= 0 && out_features >= 0, "PrunableLinear: negative size [{}, {}]",
           out_features, in_features);
  weight = register_parameter("weight", torch::zeros({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", torch::zeros({out_features}));
}

torch::Tensor PrunableLinearImpl::effective_weight() {
  if (!transform_) return weight;
  auto w = transform_->weight(weight);
  KD_CHECK(w.sizes() == weight.sizes(), "PrunableLinear: weight transform changed shape {} -> {}",
           shape_str(weight.sizes()), shape_str(w.sizes()));
  return w;
}

torch::Tensor PrunableLinearImpl::effective_bias() {
  if (!bias.defined() || !transform_) return bias;
  return transform_->bias(bias);
}

torch::Tensor PrunableLinearImpl::forward(const torch::Tensor& x) {
  KD_CHECK(x.size(-1) == in_features(), "PrunableLinear: input has {} features, weight is [{}, {}]",
           x.size(-1), out_features(), in_features());
  auto w = effective_weight();
  auto b = effective_bias();
  if (compute_dtype_ == torch::kFloat) {
    return torch::linear(x.to(torch::kFloat), w, b);  // [..., out]
  }
  // Low-precision matmul, fp32 master weights: the casts are differentiable, so gradients flow
  // back to the fp32 parameters (and transform parameters) in fp32.
  return torch::linear(x.to(compute_dtype_), w.to(compute_dtype_),
                       b.defined() ? b.to(compute_dtype_) : b);
}

void PrunableLinearImpl::fold_transform() {
  if (!transform_) return;
  torch::NoGradGuard no_grad;
  auto w = effective_weight().detach().clone();
  auto b = bias.defined() ? effective_bias().detach().clone() : torch::Tensor();
  transform_.reset();
  weight.copy_(w);
  if (bias.defined()) bias.copy_(b);
}

void PrunableLinearImpl::replace(const std::string& name, torch::Tensor& member,
                                 torch::Tensor value) {
  const bool grad = member.requires_grad();
  value = value.detach().clone().contiguous().set_requires_grad(grad);
  parameters_[name] = value;  // same name, new (smaller) tensor
  member = value;
}

void PrunableLinearImpl::keep_rows(const torch::Tensor& index) {
  auto idx = index.to(weight.device(), torch::kLong).flatten();
  KD_CHECK(idx.numel() == 0 ||
               (idx.min().item<int64_t>() >= 0 && idx.max().item<int64_t>() < out_features()),
           "PrunableLinear::keep_rows: index out of range for {} rows", out_features());
  if (transform_) transform_->keep_rows(idx);
  torch::NoGradGuard no_grad;
  replace("weight", weight, weight.index_select(0, idx));
  if (bias.defined()) replace("bias", bias, bias.index_select(0, idx));
}

void PrunableLinearImpl::keep_cols(const torch::Tensor& index) {
  auto idx = index.to(weight.device(), torch::kLong).flatten();
  KD_CHECK(idx.numel() == 0 ||
               (idx.min().item<int64_t>() >= 0 && idx.max().item<int64_t>() < in_features()),
           "PrunableLinear::keep_cols: index out of range for {} columns", in_features());
  if (transform_) transform_->keep_cols(idx);
  torch::NoGradGuard no_grad;
  replace("weight", weight, weight.index_select(1, idx));
}

void PrunableLinearImpl::set_compute_dtype(torch::ScalarType t) {
  KD_CHECK(t == torch::kFloat || t == torch::kBFloat16 || t == torch::kHalf,
           "PrunableLinear: compute dtype must be float32, bfloat16 or float16, got {}",
           c10::toString(t));
  compute_dtype_ = t;
}

void PrunableLinearImpl::pretty_print(std::ostream& stream) const {
  stream << "kd::model::PrunableLinear(in=" << weight.size(1) << ", out=" << weight.size(0)
         << ", bias=" << (bias.defined() ? "true" : "false") << (transform_ ? ", transform" : "")
         << ")";
}

}  // namespace kd::model

// PrunableLinear: y = x · T(W)ᵀ + T_b(b), the one place every encoder linear weight passes
// through. LAMP plugs a multiplicative mask (W ⊙ M) and schuBERT its pruning vectors
// (α_out per row, α_in per column) into T; structural surgery (keep_rows/keep_cols) physically
// shrinks the weight so a pruned model is smaller and faster, not just zero-filled.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>

namespace kd::model {

// A transform of the effective weight (and bias) used in forward. Its own parameters (mask
// logits, α vectors) belong to the method that owns the transform and are NOT registered in
// the linear, so named_parameters() stays equal to the Hugging Face state dict.
class WeightTransform {
 public:
  virtual ~WeightTransform() = default;
  // [out, in] -> [out, in]; differentiable w.r.t. the transform's parameters (and W).
  virtual torch::Tensor weight(const torch::Tensor& w) = 0;
  // [out] -> [out]; identity by default (a row scale α_out usually scales the bias too).
  virtual torch::Tensor bias(const torch::Tensor& b) { return b; }
  // Surgery hooks: the linear calls these with the kept indices so state shaped like W follows
  // the surgery. The default throws (a transform that ignored surgery would silently misalign):
  // either override them, or clear/fold the transform before surgery.
  virtual void keep_rows(const torch::Tensor& index);
  virtual void keep_cols(const torch::Tensor& index);
};

// Wraps a plain function of the weight; refuses surgery (see WeightTransform::keep_rows).
class FunctionWeightTransform : public WeightTransform {
 public:
  using Fn = std::function<torch::Tensor(const torch::Tensor&)>;
  explicit FunctionWeightTransform(Fn fw, Fn fb = nullptr)
      : fw_(std::move(fw)), fb_(std::move(fb)) {}
  torch::Tensor weight(const torch::Tensor& w) override { return fw_(w); }
  torch::Tensor bias(const torch::Tensor& b) override { return fb_ ? fb_(b) : b; }

 private:
  Fn fw_, fb_;
};

class PrunableLinearImpl : public torch::nn::Module {
 public:
  // Parameters "weight" [out, in] and "bias" [out] (Hugging Face names), zero-initialised;
  // BertForPreTraining::init_weights or a checkpoint fills them.
  PrunableLinearImpl(int64_t in_features, int64_t out_features, bool bias = true);

  // x [..., in] -> [..., out], in the compute dtype (fp32 or bf16; see set_compute_dtype).
  torch::Tensor forward(const torch::Tensor& x);

  // The weight/bias forward uses: T(W), T_b(b) (fp32, differentiable).
  torch::Tensor effective_weight();
  torch::Tensor effective_bias();

  void set_transform(std::shared_ptr<WeightTransform> t) { transform_ = std::move(t); }
  void set_transform(FunctionWeightTransform::Fn fw, FunctionWeightTransform::Fn fb = nullptr) {
    transform_ = std::make_shared<FunctionWeightTransform>(std::move(fw), std::move(fb));
  }
  void clear_transform() { transform_.reset(); }
  const std::shared_ptr<WeightTransform>& transform() const { return transform_; }
  // Writes T(W), T_b(b) into the parameters and clears the transform (schuBERT folds the
  // surviving α into the weights before fine-tuning).
  void fold_transform();

  // Structural surgery: keeps output units `index` (rows of W and entries of b) or input
  // features `index` (columns of W). index: int64 [n] (any device), any order (order is
  // kept). New smaller
  // parameters are registered under the same names, so any optimizer must be rebuilt.
  void keep_rows(const torch::Tensor& index);
  void keep_cols(const torch::Tensor& index);

  // kFloat (default), kBFloat16, or kHalf (GPUs only): a low-precision dtype casts input,
  // effective weight and bias to it and runs the matmul there; the parameters stay fp32 master
  // weights. Output in the compute dtype.
  void set_compute_dtype(torch::ScalarType t);
  torch::ScalarType compute_dtype() const { return compute_dtype_; }

  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }
  bool has_bias() const { return bias.defined(); }

  void pretty_print(std::ostream& stream) const override;

  torch::Tensor weight;  // [out, in]
  torch::Tensor bias;    // [out] (undefined without bias)

 private:
  void replace(const std::string& name, torch::Tensor& member, torch::Tensor value);

  std::shared_ptr<WeightTransform> transform_;
  torch::ScalarType compute_dtype_ = torch::kFloat;
};
TORCH_MODULE(PrunableLinear);

}  // namespace kd::model

// schuBERT's pruning vectors α: one per prunable dimension (per layer: heads, query/key dims,
// value dims, filter units; global: hidden features), initialised to 1 and multiplied into the
// weights they control. They are wired into the model through PrunableLinear transforms and
// LayerNorm gates, and are never registered in the model (its state dict stays Hugging Face's).
//
// Where each α acts (chosen so that α = 0 is exactly the model with that unit deleted):
//   α_heads^l, α_v^l  rows of W_V (and b_V): a head's / value dim's output is scaled, so the
//                     matching columns of W_O see α times their input;
//   α_k^l             rows of W_Q (and b_Q): each query/key dim's share of the scores;
//   α_F^l             columns of W_2 (after the activation: GELU(α·z) would not vanish linearly);
//   α_H               every residual-stream LayerNorm (output scaled, statistics over the
//                     features with α ≠ 0), and the rows of the pooler and MLM-transform dense
//                     layers (their H-sized outputs do not pass through a LayerNorm first).
#pragma once
#include <torch/torch.h>

#include <set>
#include <string>
#include <vector>

#include "model/bert.h"
#include "train/optimizer.h"

namespace kd::methods::schubert {

enum class Dim { Heads, QK, V, Filter, Hidden };
constexpr Dim kAllDims[] = {Dim::Heads, Dim::QK, Dim::V, Dim::Filter, Dim::Hidden};
const char* dim_name(Dim d);  // "heads", "qk", "v", "filter", "hidden"

// The dimensions a variant prunes: all/uniform → every one; h → hidden; F → filter;
// A → heads; layers → none. Throws naming the valid variants.
std::set<Dim> variant_dims(const std::string& variant);

// Size of a dimension in a config (layer ignored for Hidden).
int64_t dim_size(const model::BertConfig& cfg, Dim d, size_t layer);
// The config with that dimension's size set to n.
model::BertConfig with_dim_size(model::BertConfig cfg, Dim d, size_t layer, int64_t n);
// c_α: parameters one unit of the dimension controls now (P(cfg) - P(cfg with one unit less)).
int64_t unit_cost(const model::BertConfig& cfg, Dim d, size_t layer);

class PruningVectors {
 public:
  PruningVectors() = default;
  // α = 1 for the given dimensions of `cfg` (the others stay undefined), on `device` (the
  // model's: the gradient all-reduce of a CUDA run needs CUDA tensors).
  PruningVectors(const model::BertConfig& cfg, const std::set<Dim>& dims,
                 torch::Device device = torch::kCPU);

  // The α of a dimension (layer ignored for Hidden); undefined when not pruned.
  const torch::Tensor& get(Dim d, size_t layer) const;
  torch::Tensor& get(Dim d, size_t layer);
  size_t num_layers() const { return heads_.size(); }
  bool has(Dim d) const { return dims_.count(d) > 0; }
  const std::set<Dim>& dims() const { return dims_; }

  // "alpha.hidden", "alpha.layer.<l>.<dim>" in a fixed order (the same on every rank).
  train::NamedTensors named() const;
  // |α| of every vector (detached copies, same names): the prune scores.
  PruningVectors abs_detached() const;

  // Σ c_α |α| / P(cfg): the penalty with c_α from `cfg` (differentiable w.r.t. the α).
  torch::Tensor penalty(const model::BertConfig& cfg) const;

  // Wires the α into `model` (transforms + LayerNorm gates). The model must have the config
  // the α were made for. Replaces any transforms the encoder linears had.
  void attach(model::BertForPreTraining& model) const;

 private:
  std::set<Dim> dims_;
  std::vector<torch::Tensor> heads_, qk_, v_, filter_;
  torch::Tensor hidden_;
};

// Removes every transform and gate attach() set (without folding them).
void detach(model::BertForPreTraining& model);

}  // namespace kd::methods::schubert

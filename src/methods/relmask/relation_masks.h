// LAMP relation masks (METHODS.md §2): for one relation, a real-valued mask generator G of the
// same shape as each query/key/value/attention-output/intermediate/output weight of layers
// first_layer..last_layer. The forward pass uses W ⊙ M(G) through PrunableLinear's transform,
// so R relations share one frozen model: attach() the relation being trained or evaluated.
//   stochastic:     M = σ((G + log u − log(1 − u)) / τ), u ~ U(0, 1) while training
//                   (relaxed Bernoulli(σ(G))); 1[σ(G) > threshold] at inference
//   deterministic:  M = 1[σ(G) > threshold] forward, identity backward (straight-through:
//                   M = (hard − G).detach() + G, as the released code)
//   eval:           inference uses the hard mask (default) or its expectation σ(G), as the paper
//                   offers for stochastic masks (then the logits are saved with the masks)
// The init prior sets the initial sparsity: a constant G = g gives σ(−g) zeros in a sampled
// stochastic mask (0 → 50%, 0.41 → 40%, 1 → 27%, 2.95 → 5%) but a hard mask that is all zeros or
// all ones (σ(0) = 0.5 is not > 0.5: the constant 0 prunes every weight of a deterministic mask);
// a normal prior N(g, s), the default, gives P(G <= logit(threshold)) zeros in the hard mask
// (N(0, 1): 50%).
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/bert.h"

namespace kd::methods::relmask {

struct MaskOptions {
  std::string kind = "deterministic";  // deterministic | stochastic
  std::string prior = "normal";        // normal | constant
  double init = 0.0;                   // constant value, or the normal's mean
  double init_std = 1.0;               // normal prior only
  double temperature = 0.1;            // τ of the stochastic mask
  double threshold = 0.5;              // hard mask: σ(G) > threshold
  std::string eval = "hard";           // inference: hard | expectation (σ(G))
  int64_t first_layer = 0;             // l_b (0-based, inclusive)
  int64_t last_layer = -1;             // l_t (inclusive); -1 = the last layer
};

// Values only (kind, prior, temperature, threshold, layer range given as numbers); the layers
// are checked against the model when the masks are made.
void validate(const MaskOptions& options);

class RelationMasks {
 public:
  // Mask generators for `model`'s encoder linears in [first_layer, last_layer], drawn from the
  // prior with `seed` (deterministic for a seed).
  RelationMasks(model::BertForPreTraining& model, const MaskOptions& options, uint64_t seed);

  // Installs W ⊙ M(G) on the masked linears of `model` (replacing any other relation's masks);
  // detach() removes them.
  void attach(model::BertForPreTraining& model);
  static void detach(model::BertForPreTraining& model);
  // Training: sampled (stochastic) or straight-through (deterministic) masks; inference: hard
  // or σ(G) (options.eval).
  void set_training(bool on) { state_->training = on; }

  // Mask logits G, one per masked linear, in layer order (query, key, value, attention output,
  // intermediate, output); Hugging Face names of the weights they mask.
  std::vector<torch::Tensor>& logits() { return state_->logits; }
  const std::vector<std::string>& names() const { return names_; }
  // (name, logits) pairs: what an optimizer over this relation's masks takes.
  std::vector<std::pair<std::string, torch::Tensor>> named_logits() const;
  // Hard mask of linear i (bool, W's shape): σ(G) > threshold.
  torch::Tensor hard_mask(size_t i) const;
  // Fixes linear i's logits to a given hard mask (`keep`, bool, any device, W's shape): G = ±10,
  // so σ(G) is within 5e-5 of the mask (how hard-only mask files and combinations are loaded).
  void set_hard_mask(size_t i, const torch::Tensor& keep);
  // Fraction of zeros in the hard masks: overall, and per masked linear.
  double sparsity() const;
  std::vector<double> sparsity_per_matrix() const;
  // Fraction of zeros over each masked layer's six matrices: layer index -> sparsity.
  std::map<int64_t, double> sparsity_per_layer() const;

  // Hard masks bit-packed (8 entries per byte, row-major, LSB first) in a safetensors file, with
  // the logits too when `with_logits`; load() accepts either (hard-only files fix G to ±10).
  void save(const std::string& path, bool with_logits) const;
  void load(const std::string& path);

  struct State {
    std::vector<torch::Tensor> logits;
    MaskOptions options;
    bool training = true;
  };

 private:
  std::shared_ptr<State> state_;
  std::vector<std::string> names_;
  std::vector<size_t> linear_index_;  // position of each masked linear in encoder_linears()
};

// The options a saved mask file needs for inference (masked layers from its tensor names,
// threshold and eval from its metadata), so eval-probe can apply masks without the relmask
// config.
MaskOptions mask_options_of_file(const std::string& path);

// Bit packing used by RelationMasks::save (exposed for tests).
torch::Tensor pack_bits(const torch::Tensor& mask);  // bool [N..] -> uint8 [ceil(numel/8)]
torch::Tensor unpack_bits(const torch::Tensor& packed, c10::IntArrayRef shape);

}  // namespace kd::methods::relmask

// A prune decision (which heads, query/key dims, value dims, filter units, hidden features and
// layers survive), how one is planned from prune scores for each variant, and how it is
// applied: to a model (physical surgery, α folded in) and to optimizer moments (sliced).
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "methods/schubert/pruning_vectors.h"
#include "model/bert.h"
#include "train/optimizer.h"

namespace kd::methods::schubert {

// Kept indices, ascending, per layer of the model the decision was made for.
struct PruneDecision {
  std::vector<std::vector<int64_t>> heads, qk, v, filter;
  std::vector<int64_t> hidden;
  std::vector<int64_t> layers;  // kept layers (original indices, ascending)

  // Everything kept: the starting point of every plan.
  static PruneDecision keep_all(const model::BertConfig& cfg);
  std::vector<int64_t>& kept(Dim d, size_t layer);
  const std::vector<int64_t>& kept(Dim d, size_t layer) const;
  // The config after the decision (per-layer dims of the kept layers).
  model::BertConfig apply_to(const model::BertConfig& cfg) const;
  nlohmann::json to_json() const;
  static PruneDecision from_json(const nlohmann::json& j, const std::string& source);
};

// Plans one prune step down to at most `target_params` parameters.
//   all / h / F / A: removes the entries with the smallest score (|α|) across the variant's
//     dimensions, one at a time, until the count is at or under the target; at least one unit
//     of every dimension of every layer survives (ties: earlier dimension, layer, index first).
//   uniform: the largest common fraction s of every current size (H, and A, k, v, F of every
//     layer, each max(1, round(s·n))) within the target; per dimension the highest scores stay.
//   layers: the longest prefix of the layers within the target (at least one).
// Throws naming the smallest reachable count when the target cannot be met.
PruneDecision plan_prune(const model::BertConfig& cfg, const PruningVectors& scores,
                         const std::string& variant, int64_t target_params);

// Applies a decision to `model` (made for its current config). With `alpha` (attached to the
// model): the α of removed units are set to 0, the linear transforms are folded into the
// weights, the units are cut out, then the LayerNorm gates are folded, leaving a plain smaller
// model whose forward equals the α-model's with those α at 0. rescale_query = false only for
// index bookkeeping (slice_optimizer_state).
void apply_decision(model::BertForPreTraining& model, const PruneDecision& decision,
                    PruningVectors* alpha, bool rescale_query = true);

// Optimizer moments of the model `before` (names "exp_avg/<param>", "exp_avg_sq/<param>",
// "step") cut to the entries that survive `decision`, by tracing element indices through the
// same surgery. Scales folded into weights are not applied: Adam's step m/√v is invariant to
// a per-entry rescale of the gradient.
train::NamedTensors slice_optimizer_state(const model::BertConfig& before,
                                          const PruneDecision& decision,
                                          const train::NamedTensors& state);

}  // namespace kd::methods::schubert

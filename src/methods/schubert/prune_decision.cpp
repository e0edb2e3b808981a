#include "methods/schubert/prune_decision.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/check.h"

namespace kd::methods::schubert {
namespace {

std::vector<int64_t> iota_n(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

torch::Tensor index_tensor(const std::vector<int64_t>& v) {
  return torch::tensor(v, torch::kLong);
}

// Every (dimension, layer) group of `dims` in a fixed order: hidden once, then per layer.
std::vector<std::pair<Dim, size_t>> groups_of(const std::set<Dim>& dims, size_t layers) {
  std::vector<std::pair<Dim, size_t>> out;
  for (Dim d : kAllDims) {
    if (!dims.count(d)) continue;
    if (d == Dim::Hidden)
      out.emplace_back(d, 0);
    else
      for (size_t l = 0; l < layers; ++l) out.emplace_back(d, l);
  }
  return out;
}

std::vector<float> scores_of(const PruningVectors& scores, Dim d, size_t layer, int64_t n) {
  const auto& t = scores.get(d, layer);
  KD_CHECK(t.defined(), "prune scores: no α for {} of layer {}", dim_name(d), layer);
  KD_CHECK(t.numel() == n, "prune scores: {} of layer {} has {} entries, the model {}", dim_name(d),
           layer, t.numel(), n);
  auto c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + n};
}

[[noreturn]] void unreachable(const std::string& variant, int64_t target, int64_t reachable) {
  KD_CHECK_HINT(false, "raise schubert.target_params/target_fraction, or prune more dimensions",
                "schubert: variant '{}' cannot reach {} parameters; the smallest it can reach is "
                "{}",
                variant, target, reachable);
  std::abort();  // not reached: KD_CHECK_HINT(false, ...) throws
}

PruneDecision plan_layers(const model::BertConfig& cfg, int64_t target) {
  PruneDecision d = PruneDecision::keep_all(cfg);
  for (int64_t keep = static_cast<int64_t>(cfg.layers.size()); keep >= 1; --keep) {
    d.layers = iota_n(keep);
    if (d.apply_to(cfg).num_parameters() <= target) return d;
  }
  unreachable("layers", target, d.apply_to(cfg).num_parameters());
}

PruneDecision plan_uniform(const model::BertConfig& cfg, const PruningVectors& scores,
                           int64_t target) {
  const auto groups = groups_of(variant_dims("uniform"), cfg.layers.size());
  auto sized = [&](double s) {
    model::BertConfig c = cfg;
    for (auto [d, l] : groups) {
      const int64_t n = dim_size(cfg, d, l);
      c = with_dim_size(c, d, l, std::max<int64_t>(1, std::llround(s * n)));
    }
    return c;
  };
  if (cfg.num_parameters() <= target) return PruneDecision::keep_all(cfg);
  if (sized(0.0).num_parameters() > target)
    unreachable("uniform", target, sized(0.0).num_parameters());
  double lo = 0.0, hi = 1.0;  // sized(lo) fits, sized(hi) does not
  for (int it = 0; it < 60; ++it) {
    const double mid = 0.5 * (lo + hi);
    (sized(mid).num_parameters() <= target ? lo : hi) = mid;
  }
  const model::BertConfig goal = sized(lo);
  PruneDecision dec = PruneDecision::keep_all(cfg);
  for (auto [d, l] : groups) {
    const int64_t n = dim_size(cfg, d, l), keep = dim_size(goal, d, l);
    auto s = scores_of(scores, d, l, n);
    auto order = iota_n(n);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return s[a] > s[b]; });
    order.resize(static_cast<size_t>(keep));
    std::sort(order.begin(), order.end());
    dec.kept(d, l) = order;
  }
  return dec;
}

PruneDecision plan_smallest_first(const model::BertConfig& cfg, const PruningVectors& scores,
                                  const std::string& variant, int64_t target) {
  struct Candidate {
    float score;
    size_t group;
    int64_t index;
  };
  const auto groups = groups_of(variant_dims(variant), cfg.layers.size());
  std::vector<Candidate> cands;
  std::vector<std::vector<bool>> removed(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto [d, l] = groups[g];
    const int64_t n = dim_size(cfg, d, l);
    removed[g].assign(static_cast<size_t>(n), false);
    auto s = scores_of(scores, d, l, n);
    for (int64_t i = 0; i < n; ++i) cands.push_back({s[i], g, i});
  }
  std::stable_sort(cands.begin(), cands.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score < b.score; });
  model::BertConfig planned = cfg;
  int64_t params = planned.num_parameters();
  for (const auto& c : cands) {
    if (params <= target) break;
    const auto [d, l] = groups[c.group];
    const int64_t n = dim_size(planned, d, l);
    if (n <= 1) continue;  // one unit of every dimension survives
    planned = with_dim_size(planned, d, l, n - 1);
    removed[c.group][c.index] = true;
    params = planned.num_parameters();
  }
  if (params > target) unreachable(variant, target, params);
  PruneDecision dec = PruneDecision::keep_all(cfg);
  for (size_t g = 0; g < groups.size(); ++g) {
    auto& kept = dec.kept(groups[g].first, groups[g].second);
    kept.clear();
    for (size_t i = 0; i < removed[g].size(); ++i)
      if (!removed[g][i]) kept.push_back(static_cast<int64_t>(i));
  }
  return dec;
}

}  // namespace

PruneDecision PruneDecision::keep_all(const model::BertConfig& cfg) {
  PruneDecision d;
  d.hidden = iota_n(cfg.hidden_size);
  for (const auto& l : cfg.layers) {
    d.heads.push_back(iota_n(l.num_heads));
    d.qk.push_back(iota_n(l.qk_head_size));
    d.v.push_back(iota_n(l.v_head_size));
    d.filter.push_back(iota_n(l.intermediate_size));
  }
  d.layers = iota_n(static_cast<int64_t>(cfg.layers.size()));
  return d;
}

std::vector<int64_t>& PruneDecision::kept(Dim d, size_t layer) {
  switch (d) {
    case Dim::Heads:
      return heads.at(layer);
    case Dim::QK:
      return qk.at(layer);
    case Dim::V:
      return v.at(layer);
    case Dim::Filter:
      return filter.at(layer);
    default:
      return hidden;
  }
}

const std::vector<int64_t>& PruneDecision::kept(Dim d, size_t layer) const {
  return const_cast<PruneDecision*>(this)->kept(d, layer);
}

model::BertConfig PruneDecision::apply_to(const model::BertConfig& cfg) const {
  model::BertConfig out = cfg;
  out.hidden_size = static_cast<int64_t>(hidden.size());
  out.layers.clear();
  for (int64_t l : layers) {
    const auto i = static_cast<size_t>(l);
    model::LayerDims dims;
    dims.num_heads = static_cast<int64_t>(heads.at(i).size());
    dims.qk_head_size = static_cast<int64_t>(qk.at(i).size());
    dims.v_head_size = static_cast<int64_t>(v.at(i).size());
    dims.intermediate_size = static_cast<int64_t>(filter.at(i).size());
    out.layers.push_back(dims);
  }
  out.num_hidden_layers = static_cast<int64_t>(out.layers.size());
  return out;
}

nlohmann::json PruneDecision::to_json() const {
  nlohmann::json per_layer = nlohmann::json::array();
  for (size_t l = 0; l < heads.size(); ++l)
    per_layer.push_back({{"heads", heads[l]}, {"qk", qk[l]}, {"v", v[l]}, {"filter", filter[l]}});
  return {{"hidden", hidden}, {"layers", layers}, {"per_layer", per_layer}};
}

PruneDecision PruneDecision::from_json(const nlohmann::json& j, const std::string& source) {
  PruneDecision d;
  try {
    d.hidden = j.at("hidden").get<std::vector<int64_t>>();
    d.layers = j.at("layers").get<std::vector<int64_t>>();
    for (const auto& l : j.at("per_layer")) {
      d.heads.push_back(l.at("heads").get<std::vector<int64_t>>());
      d.qk.push_back(l.at("qk").get<std::vector<int64_t>>());
      d.v.push_back(l.at("v").get<std::vector<int64_t>>());
      d.filter.push_back(l.at("filter").get<std::vector<int64_t>>());
    }
  } catch (const nlohmann::json::exception& e) {
    KD_FAIL("{}: not a prune decision ({})", source, e.what());
  }
  return d;
}

PruneDecision plan_prune(const model::BertConfig& cfg, const PruningVectors& scores,
                         const std::string& variant, int64_t target_params) {
  variant_dims(variant);  // validates the name
  if (variant == "layers") return plan_layers(cfg, target_params);
  if (variant == "uniform") return plan_uniform(cfg, scores, target_params);
  return plan_smallest_first(cfg, scores, variant, target_params);
}

void apply_decision(model::BertForPreTraining& model, const PruneDecision& decision,
                    PruningVectors* alpha, bool rescale_query) {
  const auto cfg = model->config();
  const size_t L = cfg.layers.size();
  KD_CHECK(decision.heads.size() == L && decision.qk.size() == L && decision.v.size() == L &&
               decision.filter.size() == L,
           "prune decision for {} layers applied to a model with {}", decision.heads.size(), L);
  torch::NoGradGuard no_grad;
  if (alpha) {
    // α of removed units → 0, so folding writes exactly the weights the α-model used.
    for (auto [d, l] : groups_of(alpha->dims(), L)) {
      auto& a = alpha->get(d, l);
      auto keep = torch::zeros_like(a);
      keep.index_fill_(0, index_tensor(decision.kept(d, l)).to(a.device()), 1.0);
      a.mul_(keep);
    }
    for (auto& linear : model->encoder_linears()) linear->fold_transform();
    model->pooler->fold_transform();
    model->mlm_transform->fold_transform();
  }
  auto changed = [](const std::vector<int64_t>& kept, int64_t n) {
    return static_cast<int64_t>(kept.size()) != n;
  };
  for (size_t l = 0; l < L; ++l) {
    auto layer = model->layer(static_cast<int64_t>(l));
    const auto& d = cfg.layers[l];
    if (changed(decision.heads[l], d.num_heads)) layer->keep_heads(index_tensor(decision.heads[l]));
    if (changed(decision.qk[l], d.qk_head_size))
      layer->keep_qk_dims(index_tensor(decision.qk[l]), rescale_query);
    if (changed(decision.v[l], d.v_head_size)) layer->keep_v_dims(index_tensor(decision.v[l]));
    if (changed(decision.filter[l], d.intermediate_size))
      layer->keep_intermediate(index_tensor(decision.filter[l]));
  }
  if (changed(decision.hidden, cfg.hidden_size)) model->keep_hidden(index_tensor(decision.hidden));
  // Gates are folded after the hidden features are gone: a plain LayerNorm counts every feature.
  if (alpha)
    for (auto& norm : model->hidden_layer_norms()) norm->fold_gate();
  if (changed(decision.layers, static_cast<int64_t>(L))) model->keep_layers(decision.layers);
}

train::NamedTensors slice_optimizer_state(const model::BertConfig& before,
                                          const PruneDecision& decision,
                                          const train::NamedTensors& state) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  model::BertForPreTraining shadow(before);
  shadow->to(torch::kDouble);
  // Each element of the shadow holds its position in the concatenation of all parameters (in
  // named order; exact in double up to 2^53), so after the same surgery every surviving
  // element names where its moments were.
  std::vector<std::string> old_names;
  int64_t offset = 0;
  {
    torch::NoGradGuard no_grad;
    for (auto& p : shadow->named_parameters()) {
      old_names.push_back(p.key());
      auto& t = p.value();
      t.copy_(torch::arange(offset, offset + t.numel(), torch::kDouble).view(t.sizes()));
      offset += t.numel();
    }
  }
  apply_decision(shadow, decision, nullptr, /*rescale_query=*/false);
  train::NamedTensors out;
  for (const char* moment : {"exp_avg/", "exp_avg_sq/"}) {
    std::vector<torch::Tensor> flat;
    for (const auto& name : old_names) {
      auto it = by_name.find(moment + name);
      KD_CHECK(it != by_name.end(), "optimizer state has no '{}{}' to slice", moment, name);
      flat.push_back(it->second.detach().to(torch::kCPU, torch::kFloat).reshape(-1));
    }
    auto all = torch::cat(flat);
    KD_CHECK(all.numel() == offset,
             "optimizer state holds {} values but the model before pruning has {} parameters",
             all.numel(), offset);
    for (auto& p : shadow->named_parameters()) {
      auto ids = p.value().detach().reshape(-1).to(torch::kLong);
      out.emplace_back(moment + p.key(), all.index_select(0, ids).view(p.value().sizes()));
    }
  }
  auto step = by_name.find("step");
  KD_CHECK(step != by_name.end(), "optimizer state has no 'step' to carry over");
  out.emplace_back("step", step->second);
  return out;
}

}  // namespace kd::methods::schubert

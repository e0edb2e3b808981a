#include "methods/schubert/pruning_vectors.h"

#include "common/check.h"

namespace kd::methods::schubert {

const char* dim_name(Dim d) {
  switch (d) {
    case Dim::Heads:
      return "heads";
    case Dim::QK:
      return "qk";
    case Dim::V:
      return "v";
    case Dim::Filter:
      return "filter";
    case Dim::Hidden:
      return "hidden";
  }
  return "?";
}

std::set<Dim> variant_dims(const std::string& variant) {
  if (variant == "all" || variant == "uniform")
    return {Dim::Heads, Dim::QK, Dim::V, Dim::Filter, Dim::Hidden};
  if (variant == "h") return {Dim::Hidden};
  if (variant == "F") return {Dim::Filter};
  if (variant == "A") return {Dim::Heads};
  if (variant == "layers") return {};
  KD_FAIL("schubert.variant must be all, h, F, A, uniform or layers (got '{}')", variant);
}

int64_t dim_size(const model::BertConfig& cfg, Dim d, size_t layer) {
  if (d == Dim::Hidden) return cfg.hidden_size;
  const auto& l = cfg.layers.at(layer);
  switch (d) {
    case Dim::Heads:
      return l.num_heads;
    case Dim::QK:
      return l.qk_head_size;
    case Dim::V:
      return l.v_head_size;
    default:
      return l.intermediate_size;
  }
}

model::BertConfig with_dim_size(model::BertConfig cfg, Dim d, size_t layer, int64_t n) {
  if (d == Dim::Hidden) {
    cfg.hidden_size = n;
    return cfg;
  }
  auto& l = cfg.layers.at(layer);
  if (d == Dim::Heads) l.num_heads = n;
  if (d == Dim::QK) l.qk_head_size = n;
  if (d == Dim::V) l.v_head_size = n;
  if (d == Dim::Filter) l.intermediate_size = n;
  return cfg;
}

int64_t unit_cost(const model::BertConfig& cfg, Dim d, size_t layer) {
  const int64_t n = dim_size(cfg, d, layer);
  return cfg.num_parameters() - with_dim_size(cfg, d, layer, n - 1).num_parameters();
}

PruningVectors::PruningVectors(const model::BertConfig& cfg, const std::set<Dim>& dims,
                               torch::Device device)
    : dims_(dims) {
  const auto options = torch::TensorOptions().device(device);
  const size_t L = cfg.layers.size();
  heads_.resize(L);
  qk_.resize(L);
  v_.resize(L);
  filter_.resize(L);
  for (Dim d : dims) {
    if (d == Dim::Hidden) {
      hidden_ = torch::ones({cfg.hidden_size}, options).set_requires_grad(true);
      continue;
    }
    for (size_t l = 0; l < L; ++l)
      get(d, l) = torch::ones({dim_size(cfg, d, l)}, options).set_requires_grad(true);
  }
}

const torch::Tensor& PruningVectors::get(Dim d, size_t layer) const {
  return const_cast<PruningVectors*>(this)->get(d, layer);
}

torch::Tensor& PruningVectors::get(Dim d, size_t layer) {
  switch (d) {
    case Dim::Heads:
      return heads_.at(layer);
    case Dim::QK:
      return qk_.at(layer);
    case Dim::V:
      return v_.at(layer);
    case Dim::Filter:
      return filter_.at(layer);
    default:
      return hidden_;
  }
}

train::NamedTensors PruningVectors::named() const {
  train::NamedTensors out;
  if (hidden_.defined()) out.emplace_back("alpha.hidden", hidden_);
  for (size_t l = 0; l < num_layers(); ++l)
    for (Dim d : {Dim::Heads, Dim::QK, Dim::V, Dim::Filter})
      if (get(d, l).defined())
        out.emplace_back(fmt::format("alpha.layer.{}.{}", l, dim_name(d)), get(d, l));
  return out;
}

PruningVectors PruningVectors::abs_detached() const {
  PruningVectors out = *this;
  for (Dim d : kAllDims)
    for (size_t l = 0; l < (d == Dim::Hidden ? size_t{1} : num_layers()); ++l)
      if (get(d, l).defined()) out.get(d, l) = get(d, l).detach().abs().clone();
  return out;
}

torch::Tensor PruningVectors::penalty(const model::BertConfig& cfg) const {
  torch::Tensor sum;
  const double P = static_cast<double>(cfg.num_parameters());
  for (Dim d : kAllDims)
    for (size_t l = 0; l < (d == Dim::Hidden ? size_t{1} : num_layers()); ++l)
      if (const auto& a = get(d, l); a.defined()) {
        auto term = a.abs().sum() * (static_cast<double>(unit_cost(cfg, d, l)) / P);
        sum = sum.defined() ? sum + term : term;
      }
  return sum.defined() ? sum : torch::zeros({});
}

namespace {
// Row scale α_out (per output unit) and column scale α_in (per input feature), either optional.
void scale_linear(model::PrunableLinear& linear, std::function<torch::Tensor()> rows,
                  std::function<torch::Tensor()> cols) {
  if (!rows && !cols) {
    linear->clear_transform();
    return;
  }
  linear->set_transform(
      [rows, cols](const torch::Tensor& w) {
        auto out = w;
        if (rows) out = out * rows().to(w.device()).unsqueeze(1);
        if (cols) out = out * cols().to(w.device()).unsqueeze(0);
        return out;
      },
      [rows](const torch::Tensor& b) { return rows ? b * rows().to(b.device()) : b; });
}
}  // namespace

void PruningVectors::attach(model::BertForPreTraining& model) const {
  const auto& cfg = model->config();
  KD_CHECK(static_cast<size_t>(model->num_layers()) == num_layers(),
           "pruning vectors for {} layers attached to a model with {}", num_layers(),
           model->num_layers());
  for (size_t l = 0; l < num_layers(); ++l) {
    auto layer = model->layer(static_cast<int64_t>(l));
    const auto& d = cfg.layers[l];
    for (Dim dim : {Dim::Heads, Dim::QK, Dim::V, Dim::Filter})
      if (get(dim, l).defined())
        KD_CHECK(get(dim, l).numel() == dim_size(cfg, dim, l),
                 "alpha.layer.{}.{} has {} entries but the layer has {}", l, dim_name(dim),
                 get(dim, l).numel(), dim_size(cfg, dim, l));
    const int64_t A = d.num_heads, v = d.v_head_size;
    torch::Tensor a_heads = heads_[l], a_qk = qk_[l], a_v = v_[l], a_f = filter_[l];
    std::function<torch::Tensor()> q_rows, v_rows, f_cols;
    // Row layout of W_Q / W_V: head-major, row = head * size + dim.
    if (a_qk.defined()) q_rows = [a_qk, A] { return a_qk.repeat({A}); };
    if (a_heads.defined() || a_v.defined())
      v_rows = [a_heads, a_v, A, v] {
        auto s = torch::ones({A * v}, a_heads.defined() ? a_heads.options() : a_v.options());
        if (a_heads.defined()) s = s * a_heads.repeat_interleave(v);
        if (a_v.defined()) s = s * a_v.repeat({A});
        return s;
      };
    if (a_f.defined()) f_cols = [a_f] { return a_f; };
    scale_linear(layer->query, q_rows, nullptr);
    scale_linear(layer->key, nullptr, nullptr);
    scale_linear(layer->value, v_rows, nullptr);
    scale_linear(layer->attn_out, nullptr, nullptr);
    scale_linear(layer->intermediate, nullptr, nullptr);
    scale_linear(layer->ffn_out, nullptr, f_cols);
  }
  std::function<torch::Tensor()> h_rows;
  if (hidden_.defined()) {
    KD_CHECK(hidden_.numel() == cfg.hidden_size, "alpha.hidden has {} entries but H = {}",
             hidden_.numel(), cfg.hidden_size);
    torch::Tensor h = hidden_;
    h_rows = [h] { return h; };
  }
  scale_linear(model->pooler, h_rows, nullptr);
  scale_linear(model->mlm_transform, h_rows, nullptr);
  for (auto& norm : model->hidden_layer_norms()) norm->set_gate(hidden_);
}

void detach(model::BertForPreTraining& model) {
  for (auto& linear : model->encoder_linears()) linear->clear_transform();
  model->pooler->clear_transform();
  model->mlm_transform->clear_transform();
  for (auto& norm : model->hidden_layer_norms()) norm->set_gate(torch::Tensor());
}

}  // namespace kd::methods::schubert

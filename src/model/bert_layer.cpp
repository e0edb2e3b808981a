#include "model/bert_layer.h"

#include <cmath>

#include "common/check.h"
#include "model/fast_dropout.h"
#include "model/shape_util.h"

namespace kd::model {
namespace {
void check_range(const torch::Tensor& idx, int64_t n, const char* what) {
  KD_CHECK(idx.numel() == 0 || (idx.min().item<int64_t>() >= 0 && idx.max().item<int64_t>() < n),
           "BertLayer::{}: index out of range [0, {})", what, n);
}
}  // namespace

// In the input's dtype: fp32 in fp32 mode; in bf16 mode the intermediate activation stays bf16
// between the two feed-forward matmuls, as under autocast (saves two casts of [B, T, F]).
torch::Tensor apply_activation(const std::string& act, const torch::Tensor& x) {
  if (act == "gelu" || act == "gelu_python") return torch::gelu(x, "none");  // erf form
  if (act == "gelu_new") return torch::gelu(x, "tanh");
  if (act == "relu") return torch::relu(x);
  KD_FAIL("unsupported hidden_act '{}'", act);
}

BertLayerImpl::BertLayerImpl(const BertConfig& cfg, const LayerDims& d)
    : dims_(d),
      act_(cfg.hidden_act),
      hidden_dropout_(cfg.hidden_dropout_prob),
      attn_dropout_(cfg.attention_probs_dropout_prob) {
  const int64_t H = cfg.hidden_size;
  const int64_t qk = d.num_heads * d.qk_head_size, v = d.num_heads * d.v_head_size;
  // Plain modules as containers reproduce Hugging Face's nesting of names.
  auto attention = register_module("attention", std::make_shared<torch::nn::Module>());
  auto self = attention->register_module("self", std::make_shared<torch::nn::Module>());
  query = self->register_module("query", PrunableLinear(H, qk));
  key = self->register_module("key", PrunableLinear(H, qk));
  value = self->register_module("value", PrunableLinear(H, v));
  auto aout = attention->register_module("output", std::make_shared<torch::nn::Module>());
  attn_out = aout->register_module("dense", PrunableLinear(v, H));
  attn_norm = aout->register_module("LayerNorm", LayerNorm(H, cfg.layer_norm_eps));
  auto inter = register_module("intermediate", std::make_shared<torch::nn::Module>());
  intermediate = inter->register_module("dense", PrunableLinear(H, d.intermediate_size));
  auto out = register_module("output", std::make_shared<torch::nn::Module>());
  ffn_out = out->register_module("dense", PrunableLinear(d.intermediate_size, H));
  ffn_norm = out->register_module("LayerNorm", LayerNorm(H, cfg.layer_norm_eps));
}

LayerDims BertLayerImpl::dims() const {
  const int64_t A = dims_.num_heads, H = hidden_size();
  const int64_t qk = A * dims_.qk_head_size, v = A * dims_.v_head_size;
  const int64_t F = dims_.intermediate_size;
  auto expect = [&](const PrunableLinear& m, int64_t out, int64_t in, const char* name) {
    KD_CHECK(m->out_features() == out && m->in_features() == in,
             "BertLayer: {} weight is [{}, {}] but the layer dims (A={}, k={}, v={}, F={}, H={}) "
             "need [{}, {}]; surgery must go through BertLayer::keep_*",
             name, m->out_features(), m->in_features(), A, dims_.qk_head_size, dims_.v_head_size, F,
             H, out, in);
  };
  expect(query, qk, H, "attention.self.query");
  expect(key, qk, H, "attention.self.key");
  expect(value, v, H, "attention.self.value");
  expect(attn_out, H, v, "attention.output.dense");
  expect(intermediate, F, H, "intermediate.dense");
  expect(ffn_out, H, F, "output.dense");
  return dims_;
}

torch::Tensor BertLayerImpl::activation(const torch::Tensor& x) const {
  return apply_activation(act_, x);
}

LayerOutput BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& ext_mask,
                                   bool want_scores) {
  const LayerDims d = dims();
  const int64_t B = x.size(0), T = x.size(1);
  const int64_t A = d.num_heads, k = d.qk_head_size, v = d.v_head_size;
  LayerOutput result;
  torch::Tensor context;  // [B, T, A*v] in the compute dtype
  if (A == 0) {
    // No heads: the attention block reduces to attention.output.dense's bias.
    context = x.new_zeros({B, T, 0}, x.options().dtype(query->compute_dtype()));
    if (want_scores) result.scores = torch::zeros({B, 0, T, T}, x.options().dtype(torch::kFloat));
  } else {
    auto xc = x.to(query->compute_dtype());                  // cast once for query, key and value
    auto kk = key(xc).view({B, T, A, k}).transpose(1, 2);    // [B, A, T, k]
    auto vv = value(xc).view({B, T, A, v}).transpose(1, 2);  // [B, A, T, v]
    torch::Tensor probs;                                     // [B, A, T, T]
    if (want_scores) {
      // Hugging Face's order of operations; fp32 scores exported for attention distillation.
      auto q = query(xc).view({B, T, A, k}).transpose(1, 2);                   // [B, A, T, k]
      auto scores = torch::matmul(q, kk.transpose(-1, -2)).to(torch::kFloat);  // [B, A, T, T]
      if (k > 0) scores = scores / std::sqrt(static_cast<double>(k));
      result.scores = scores;
      probs = torch::softmax(scores + ext_mask, -1);
    } else {
      // Scale the (smaller) query instead of the scores (same result up to rounding, one pass
      // over [B, A, T, T] less each way) and keep the scores in the compute dtype; softmax
      // accumulates in fp32 internally.
      auto q = query(xc) * (k > 0 ? 1.0 / std::sqrt(static_cast<double>(k)) : 1.0);
      q = q.view({B, T, A, k}).transpose(1, 2);              // [B, A, T, k]
      auto scores = torch::matmul(q, kk.transpose(-1, -2));  // [B, A, T, T]
      // In bf16 the fp32 mask minimum would round to -inf: keep it finite.
      auto mask = scores.scalar_type() == torch::kFloat
                      ? ext_mask
                      : ext_mask.clamp_min(-1e30).to(scores.scalar_type());
      probs = torch::softmax(scores + mask, -1);
    }
    probs = fast_dropout(probs, attn_dropout_, is_training());
    context = torch::matmul(probs.to(vv.scalar_type()), vv)  // [B, A, T, v]
                  .transpose(1, 2)
                  .reshape({B, T, A * v});
  }
  // Residual sums promote to fp32, so LayerNorm always sees fp32.
  auto a = fast_dropout(attn_out(context), hidden_dropout_, is_training());
  auto h = attn_norm(a + x.to(torch::kFloat));  // [B, T, H]
  auto f = activation(intermediate(h));         // [B, T, F] compute dtype
  auto o = fast_dropout(ffn_out(f), hidden_dropout_, is_training());
  result.hidden = ffn_norm(o + h);  // [B, T, H] fp32
  return result;
}

torch::Tensor BertLayerImpl::head_rows(const torch::Tensor& heads, const torch::Tensor& dims,
                                       int64_t d) {
  // row(h, j) = h * d + j, heads outer, dims inner: [heads.numel() * dims.numel()]
  return (heads.to(torch::kLong).view({-1, 1}) * d + dims.to(torch::kLong).view({1, -1})).flatten();
}

void BertLayerImpl::keep_heads(const torch::Tensor& heads) {
  const LayerDims d = dims();
  auto hidx = heads.to(torch::kCPU, torch::kLong).flatten();
  check_range(hidx, d.num_heads, "keep_heads");
  auto rows_qk = head_rows(hidx, torch::arange(d.qk_head_size), d.qk_head_size);
  auto rows_v = head_rows(hidx, torch::arange(d.v_head_size), d.v_head_size);
  query->keep_rows(rows_qk);
  key->keep_rows(rows_qk);
  value->keep_rows(rows_v);
  attn_out->keep_cols(rows_v);
  dims_.num_heads = hidx.numel();
}

void BertLayerImpl::keep_qk_dims(const torch::Tensor& keep, bool rescale_query) {
  const LayerDims d = dims();
  auto idx = keep.to(torch::kCPU, torch::kLong).flatten();
  check_range(idx, d.qk_head_size, "keep_qk_dims");
  auto rows = head_rows(torch::arange(d.num_heads), idx, d.qk_head_size);
  query->keep_rows(rows);
  key->keep_rows(rows);
  // Scores are divided by sqrt(k); rescale the query so the kept dims give the same scores
  // with the new, smaller k (exact surgery, and still plain HF semantics).
  if (rescale_query && idx.numel() > 0 && idx.numel() != d.qk_head_size) {
    const double s = std::sqrt(static_cast<double>(idx.numel()) / d.qk_head_size);
    torch::NoGradGuard no_grad;
    query->weight.mul_(s);
    query->bias.mul_(s);
  }
  dims_.qk_head_size = idx.numel();
}

void BertLayerImpl::keep_v_dims(const torch::Tensor& keep) {
  const LayerDims d = dims();
  auto idx = keep.to(torch::kCPU, torch::kLong).flatten();
  check_range(idx, d.v_head_size, "keep_v_dims");
  auto rows = head_rows(torch::arange(d.num_heads), idx, d.v_head_size);
  value->keep_rows(rows);
  attn_out->keep_cols(rows);
  dims_.v_head_size = idx.numel();
}

void BertLayerImpl::keep_intermediate(const torch::Tensor& units) {
  dims();
  auto idx = units.to(torch::kCPU, torch::kLong).flatten();
  intermediate->keep_rows(idx);
  ffn_out->keep_cols(idx);
  dims_.intermediate_size = idx.numel();
}

void BertLayerImpl::keep_hidden(const torch::Tensor& index) {
  dims();
  auto idx = index.to(torch::kCPU, torch::kLong).flatten();
  query->keep_cols(idx);
  key->keep_cols(idx);
  value->keep_cols(idx);
  attn_out->keep_rows(idx);
  attn_norm->keep(idx);
  intermediate->keep_cols(idx);
  ffn_out->keep_rows(idx);
  ffn_norm->keep(idx);
}

std::vector<PrunableLinear> BertLayerImpl::linears() const {
  return {query, key, value, attn_out, intermediate, ffn_out};
}

}  // namespace kd::model

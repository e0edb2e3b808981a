#include "model/bert.h"

#include <ATen/CPUGeneratorImpl.h>

#include <limits>

#include "common/check.h"
#include "common/strings.h"
#include "model/shape_util.h"

namespace kd::model {
namespace {
using Container = torch::nn::Module;
std::shared_ptr<Container> container() {
  return std::make_shared<Container>();
}

}  // namespace

BertForPreTrainingImpl::BertForPreTrainingImpl(const BertConfig& cfg) : config_(cfg) {
  cfg.validate("BertForPreTraining");
  const int64_t H = cfg.hidden_size;
  auto bert = register_module("bert", container());
  embeddings = bert->register_module("embeddings", BertEmbeddings(cfg));
  auto encoder = bert->register_module("encoder", container());
  encoder_layers_ = encoder->register_module("layer", container());
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l)
    layers_.push_back(
        encoder_layers_->register_module(std::to_string(l), BertLayer(cfg, cfg.layers[l])));
  pooler =
      bert->register_module("pooler", container())->register_module("dense", PrunableLinear(H, H));
  auto cls = register_module("cls", container());
  predictions_ = cls->register_module("predictions", container());
  auto transform = predictions_->register_module("transform", container());
  mlm_transform = transform->register_module("dense", PrunableLinear(H, H));
  mlm_norm = transform->register_module("LayerNorm", LayerNorm(H, cfg.layer_norm_eps));
  mlm_bias = predictions_->register_parameter("bias", torch::zeros({cfg.vocab_size}));
  nsp = cls->register_module("seq_relationship", PrunableLinear(H, 2));
}

const BertConfig& BertForPreTrainingImpl::config() const {
  // Surgery changes shapes; the config follows the modules (the only source of truth).
  config_.hidden_size = embeddings->hidden_size();
  config_.num_hidden_layers = num_layers();
  config_.layers.clear();
  for (const auto& layer : layers_) config_.layers.push_back(layer->dims());
  return config_;
}

void BertForPreTrainingImpl::init_weights(uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const double std = config_.initializer_range;
  torch::NoGradGuard no_grad;
  // named_parameters() has a fixed order, so the same seed gives the same weights.
  for (auto& p : named_parameters()) {
    const std::string& name = p.key();
    torch::Tensor t = p.value();
    if (ends_with(name, "LayerNorm.weight")) {
      t.fill_(1.0);
    } else if (ends_with(name, "bias")) {
      t.zero_();
    } else {
      // Draw on CPU (deterministic generator), then copy to the parameter's device.
      auto r = torch::empty(t.sizes(), torch::kFloat);
      r.normal_(0.0, std, gen);
      t.copy_(r);
    }
  }
  const int64_t pad = config_.pad_token_id;
  if (pad >= 0 && pad < embeddings->word_embeddings->num())
    embeddings->word_embeddings->weight[pad].zero_();
}

void BertForPreTrainingImpl::set_compute_dtype(torch::ScalarType t) {
  KD_CHECK(t == torch::kFloat || t == torch::kBFloat16 || t == torch::kHalf,
           "set_compute_dtype: float32, bfloat16 or float16 (GPU) expected, got {}",
           c10::toString(t));
  compute_dtype_ = t;
  for (auto& m : modules(/*include_self=*/false))
    if (auto lin = std::dynamic_pointer_cast<PrunableLinearImpl>(m)) lin->set_compute_dtype(t);
}

std::vector<PrunableLinear> BertForPreTrainingImpl::encoder_linears() {
  std::vector<PrunableLinear> out;
  for (const auto& layer : layers_)
    for (auto& lin : layer->linears()) out.push_back(lin);
  return out;
}

torch::Tensor BertForPreTrainingImpl::input_embeddings(const torch::Tensor& input_ids,
                                                       const torch::Tensor& token_type_ids) {
  return embeddings(input_ids, token_type_ids);
}

torch::Tensor BertForPreTrainingImpl::word_embeddings(const torch::Tensor& input_ids) {
  return embeddings->word_embeddings(input_ids);
}

BertOutput BertForPreTrainingImpl::forward(const torch::Tensor& input_ids,
                                           const torch::Tensor& token_type_ids,
                                           const torch::Tensor& attention_mask,
                                           const ForwardOptions& opt) {
  return run_encoder(embeddings(input_ids, token_type_ids), attention_mask, opt);
}

BertOutput BertForPreTrainingImpl::forward_embeds(const torch::Tensor& inputs_embeds,
                                                  const torch::Tensor& token_type_ids,
                                                  const torch::Tensor& attention_mask,
                                                  const ForwardOptions& opt) {
  return run_encoder(embeddings->forward_embeds(inputs_embeds, token_type_ids), attention_mask,
                     opt);
}

BertOutput BertForPreTrainingImpl::forward_encoder(const torch::Tensor& embedding_output,
                                                   const torch::Tensor& attention_mask,
                                                   const ForwardOptions& opt) {
  return run_encoder(embedding_output, attention_mask, opt);
}

BertOutput BertForPreTrainingImpl::run_encoder(const torch::Tensor& emb,
                                               const torch::Tensor& attention_mask,
                                               const ForwardOptions& opt) {
  KD_CHECK(emb.dim() == 3, "BertForPreTraining: embedding output must be [B, T, H], got {}",
           shape_str(emb.sizes()));
  const int64_t B = emb.size(0), T = emb.size(1);
  torch::Tensor mask = attention_mask.defined()
                           ? attention_mask
                           : torch::ones({B, T}, emb.options().dtype(torch::kLong));
  KD_CHECK(mask.dim() == 2 && mask.size(0) == B && mask.size(1) == T,
           "BertForPreTraining: attention_mask {} does not match [B, T] = [{}, {}]",
           shape_str(mask.sizes()), B, T);
  // [B, 1, 1, T]: 0 where kept, float32 min where padded (HF extended attention mask).
  auto ext =
      (1.0 - mask.to(torch::kFloat)).view({B, 1, 1, T}) * std::numeric_limits<float>::lowest();

  BertOutput out;
  torch::Tensor h = emb.to(torch::kFloat);  // [B, T, H]
  if (opt.output_hidden_states) out.hidden_states.push_back(h);
  for (auto& layer : layers_) {
    auto r = layer(h, ext, opt.output_attentions);
    h = r.hidden;
    if (opt.output_hidden_states) out.hidden_states.push_back(h);
    if (opt.output_attentions) out.attention_scores.push_back(r.scores);
  }
  out.sequence_output = h;
  if (opt.compute_mlm) {
    if (opt.mlm_positions.defined()) {
      auto flat = h.reshape({B * T, h.size(2)});  // [B*T, H]
      out.mlm_logits = mlm_head(
          flat.index_select(0, opt.mlm_positions.to(flat.device(), torch::kLong).flatten()));
    } else {
      out.mlm_logits = mlm_head(h);  // [B, T, V]
    }
  }
  if (opt.compute_nsp) out.nsp_logits = nsp_head(h);
  return out;
}

torch::Tensor BertForPreTrainingImpl::mlm_head(const torch::Tensor& hidden) {
  auto t = mlm_norm(apply_activation(config_.hidden_act, mlm_transform(hidden)));  // [.., H]
  const auto& w = embeddings->word_embeddings->weight;                             // [V, H]
  if (compute_dtype_ == torch::kFloat) return torch::linear(t, w, mlm_bias);
  return torch::linear(t.to(compute_dtype_), w.to(compute_dtype_), mlm_bias.to(compute_dtype_))
      .to(torch::kFloat);  // [.., V]
}

torch::Tensor BertForPreTrainingImpl::pooled_output(const torch::Tensor& seq) {
  return torch::tanh(pooler(seq.select(1, 0)).to(torch::kFloat));  // [B, H]
}

torch::Tensor BertForPreTrainingImpl::nsp_head(const torch::Tensor& seq) {
  return nsp(pooled_output(seq)).to(torch::kFloat);  // [B, 2]
}

void BertForPreTrainingImpl::keep_hidden(const torch::Tensor& index) {
  auto idx = index.to(torch::kLong).flatten();
  embeddings->keep_hidden(idx);
  for (auto& layer : layers_) layer->keep_hidden(idx);
  pooler->keep_rows(idx);
  pooler->keep_cols(idx);
  mlm_transform->keep_rows(idx);
  mlm_transform->keep_cols(idx);
  mlm_norm->keep(idx);
  nsp->keep_cols(idx);
}

std::vector<LayerNorm> BertForPreTrainingImpl::hidden_layer_norms() const {
  std::vector<LayerNorm> out{embeddings->layer_norm};
  for (const auto& layer : layers_) {
    out.push_back(layer->attn_norm);
    out.push_back(layer->ffn_norm);
  }
  out.push_back(mlm_norm);
  return out;
}

void BertForPreTrainingImpl::keep_layers(const std::vector<int64_t>& keep) {
  std::vector<BertLayer> kept;
  for (int64_t l : keep) {
    KD_CHECK(l >= 0 && l < num_layers(), "keep_layers: layer {} out of range ({} layers)", l,
             num_layers());
    kept.push_back(layers_[l]);
  }
  for (size_t l = 0; l < layers_.size(); ++l) encoder_layers_->unregister_module(std::to_string(l));
  layers_.clear();
  for (size_t l = 0; l < kept.size(); ++l)
    layers_.push_back(encoder_layers_->register_module(std::to_string(l), kept[l]));
}

}  // namespace kd::model

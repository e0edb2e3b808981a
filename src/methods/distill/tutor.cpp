#include "methods/distill/tutor.h"

#include "common/check.h"
#include "methods/pretrain/pretrain_task.h"
#include "model/bert_layer.h"
#include "model/model_dir.h"

namespace kd::methods::distill {

TutorHeadImpl::TutorHeadImpl(model::BertForPreTraining& teacher, const std::string& init,
                             uint64_t seed) {
  KD_CHECK(init == "random" || init == "teacher",
           "tutor.head_init must be random or teacher (got '{}')", init);
  const auto& c = teacher->config();
  act_ = c.hidden_act;
  dense_ = register_module("dense", model::PrunableLinear(c.hidden_size, c.hidden_size));
  norm_ = register_module("LayerNorm", model::LayerNorm(c.hidden_size, c.layer_norm_eps));
  torch::NoGradGuard no_grad;
  if (init == "random") {
    auto gen = at::detail::createCPUGenerator(seed);
    const double sd = c.initializer_range;
    dense_->weight.copy_(torch::normal(0, sd, dense_->weight.sizes(), gen));
    dense_->bias.zero_();
    norm_->weight.fill_(1);
    norm_->bias.zero_();
    decoder_ = register_parameter("decoder_weight",
                                  torch::normal(0, sd, {c.vocab_size, c.hidden_size}, gen));
    bias_ = register_parameter("bias", torch::zeros({c.vocab_size}));
    return;
  }
  dense_->weight.copy_(teacher->mlm_transform->weight);
  dense_->bias.copy_(teacher->mlm_transform->bias);
  norm_->weight.copy_(teacher->mlm_norm->weight);
  norm_->bias.copy_(teacher->mlm_norm->bias);
  decoder_ = register_parameter("decoder_weight",
                                teacher->embeddings->word_embeddings->weight.detach().clone());
  bias_ = register_parameter("bias", teacher->mlm_bias.detach().clone());
}

void TutorHeadImpl::set_compute_dtype(torch::ScalarType t) {
  dtype_ = t;
  dense_->set_compute_dtype(t);
}

torch::Tensor TutorHeadImpl::forward(const torch::Tensor& hidden) {
  auto t = norm_(model::apply_activation(act_, dense_(hidden)));
  if (dtype_ == torch::kFloat) return torch::linear(t, decoder_, bias_);
  return torch::linear(t.to(dtype_), decoder_.to(dtype_), bias_.to(dtype_)).to(torch::kFloat);
}

Tutor::Tutor(const TutorSection& config, model::BertForPreTraining& teacher, uint64_t seed,
             torch::ScalarType compute_dtype)
    : kind_(config.kind) {
  KD_CHECK(kind_ == "teacher_head" || kind_ == "generator",
           "tutor.kind must be teacher_head or generator (got '{}')", kind_);
  if (kind_ == "teacher_head") {
    head_ = TutorHead(teacher, config.head_init, seed ^ 0x7E7Eu);
    head_->set_compute_dtype(compute_dtype);
    return;
  }
  const auto& g = config.generator;
  if (g.dir.empty()) {
    generator_ = model::BertForPreTraining(model_config_from(g));
    generator_->init_weights(seed ^ 0x7A7Au);
  } else {
    generator_ = model::load_model_dir(g.dir);
  }
  KD_CHECK_HINT(generator_->config().vocab_size == teacher->config().vocab_size,
                "give tutor.generator.vocab the teacher's vocab.txt",
                "tutor generator vocabulary ({}) differs from the teacher's ({})",
                generator_->config().vocab_size, teacher->config().vocab_size);
  generator_->set_compute_dtype(compute_dtype);
}

torch::Tensor Tutor::logits(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                            const torch::Tensor& attention_mask, const torch::Tensor& positions,
                            const torch::Tensor& teacher_sequence) {
  if (head_) {
    KD_CHECK(teacher_sequence.defined(), "tutor teacher_head needs the teacher's hidden states");
    auto flat = teacher_sequence.reshape({-1, teacher_sequence.size(-1)});
    return head_->forward(flat.index_select(0, positions));
  }
  model::ForwardOptions opt;
  opt.mlm_positions = positions;
  opt.compute_nsp = false;
  return generator_->forward(input_ids, token_type_ids, attention_mask, opt).mlm_logits;
}

train::NamedTensors Tutor::parameters(const std::string& prefix) {
  train::NamedTensors out;
  torch::nn::Module& m = head_ ? static_cast<torch::nn::Module&>(*head_) : *generator_;
  for (auto& item : m.named_parameters()) out.emplace_back(prefix + item.key(), item.value());
  return out;
}

void Tutor::train(bool on) {
  if (head_) head_->train(on);
  if (generator_) generator_->train(on);
}

void Tutor::to(torch::Device device) {
  if (head_) head_->to(device);
  if (generator_) generator_->to(device);
}

}  // namespace kd::methods::distill

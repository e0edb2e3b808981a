// The Tutor-KD tutor: a policy π(·|X^M, t) over the vocabulary at each masked position.
//   kind teacher_head (paper and released code): dense → GELU → LayerNorm → vocabulary, on the
//     frozen teacher's last hidden states of X^M; initialised randomly (head_init random, the
//     released code: N(0, initializer_range) weights, zero biases, an untied decoder) or as a
//     copy of the teacher's MLM head (head_init teacher: at step 0 π is the teacher's
//     distribution).
//   kind generator (kdprune's variant): a separate, smaller BertForPreTraining reading X^M.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

#include "methods/distill/distill_config.h"
#include "model/bert.h"
#include "train/optimizer.h"

namespace kd::methods::distill {

class TutorHeadImpl : public torch::nn::Module {
 public:
  // An MLM head of `teacher`'s shape: a trainable copy of its head (transform, LayerNorm,
  // decoder = its tied embeddings, bias) when `init` is "teacher", else random from `seed`.
  TutorHeadImpl(model::BertForPreTraining& teacher, const std::string& init, uint64_t seed);
  torch::Tensor forward(const torch::Tensor& hidden);  // [M, H_T] -> logits [M, V] fp32
  void set_compute_dtype(torch::ScalarType t);

 private:
  model::PrunableLinear dense_{nullptr};
  model::LayerNorm norm_{nullptr};
  torch::Tensor decoder_, bias_;
  std::string act_;
  torch::ScalarType dtype_ = torch::kFloat;
};
TORCH_MODULE(TutorHead);

class Tutor {
 public:
  Tutor(const TutorSection& config, model::BertForPreTraining& teacher, uint64_t seed,
        torch::ScalarType compute_dtype);

  // Logits [M, V] (fp32) at the flat positions `positions` of the masked batch. The
  // teacher_head kind needs the teacher's last hidden states of the same input
  // (teacher_sequence [B, T, H_T]); the generator kind reads the ids.
  torch::Tensor logits(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                       const torch::Tensor& attention_mask, const torch::Tensor& positions,
                       const torch::Tensor& teacher_sequence);

  bool reads_teacher_states() const { return kind_ == "teacher_head"; }
  train::NamedTensors parameters(const std::string& prefix);
  void train(bool on);
  void to(torch::Device device);

 private:
  std::string kind_;
  TutorHead head_{nullptr};
  model::BertForPreTraining generator_{nullptr};
};

}  // namespace kd::methods::distill

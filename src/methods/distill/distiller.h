// One distillation micro-step on a batch, for the four methods of `kdprune distill`:
//   tutor_kd  mask (from the shards) → the tutor samples replacements → teacher and student
//             read the pseudo sample X' → tutor REINFORCE (+ KL to the teacher) and student
//             modified-logit (r_T from the teacher on X^M or X'), hidden-state and attention
//             losses (METHODS.md §1)
//   kd        the student reads the masked input X^M: logit KD + hidden + attention (+ MLM)
//   minilm    MiniLMv2: the student's last layer learns one teacher layer's Q-Q, K-K and V-V
//             self-attention relations on X^M (+ MLM)
//   mlm       the student alone, MLM cross-entropy on X^M
// The student and tutor losses are summed into one scalar: no gradient path joins them (the
// pseudo sample is discrete and rewards are detached), so one backward gives each its own
// gradient, and one optimizer and one GradReducer serve both.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>

#include "data/loader_types.h"
#include "methods/distill/distill_config.h"
#include "methods/distill/tutor.h"
#include "model/bert.h"
#include "train/optimizer.h"

namespace kd::methods::distill {

// Wall time of the forward phases of the last step() (seconds; backward is the caller's).
struct PhaseTimes {
  double teacher = 0;  // teacher forwards (X^M for the tutor/KL, X' for the rewards)
  double tutor = 0;    // tutor logits, sampling, building X'
  double student = 0;  // student forward and every loss term
};

struct DistillStep {
  torch::Tensor loss;  // student + tutor loss, for backward
  // Every term, same keys every step for a config: scalar tensors on the device (read by the
  // Trainer once per logged step).
  std::map<std::string, torch::Tensor> parts;
};

class Distiller {
 public:
  // `teacher` is frozen here (eval mode, requires_grad off); `student` is trained.
  Distiller(const DistillConfig& config, model::BertForPreTraining teacher,
            model::BertForPreTraining student);

  DistillStep step(const data::PretrainBatch& batch);

  // student.*, tutor.*, heads.* (fixed order, same on every rank).
  train::NamedTensors trainable_parameters();
  // Tutor and auxiliary heads (projection, ratio head): what a checkpoint needs besides the
  // student's model directory.
  train::NamedTensors module_state();
  void load_module_state(const std::map<std::string, torch::Tensor>& tensors);

  model::BertForPreTraining& student() { return student_; }
  model::BertForPreTraining& teacher() { return teacher_; }
  const std::string& method() const { return config_.distill.method; }
  const PhaseTimes& last_times() const { return times_; }

 private:
  DistillStep step_mlm(const data::PretrainBatch& b, const torch::Tensor& pos,
                       const torch::Tensor& x);
  DistillStep step_kd(const data::PretrainBatch& b, const torch::Tensor& pos,
                      const torch::Tensor& x);
  DistillStep step_tutor_kd(const data::PretrainBatch& b, const torch::Tensor& pos,
                            const torch::Tensor& x);
  DistillStep step_minilm(const data::PretrainBatch& b, const torch::Tensor& pos,
                          const torch::Tensor& x);
  // Hidden and attention terms (zero tensors when their weights are 0).
  std::pair<torch::Tensor, torch::Tensor> feature_losses(const model::BertOutput& s,
                                                         const model::BertOutput& t,
                                                         const torch::Tensor& attention_mask);
  model::ForwardOptions options(const torch::Tensor& pos, bool mlm) const;
  // Whether the method has the hidden-state and attention terms (kd, tutor_kd).
  bool uses_feature_losses() const {
    return config_.distill.method == "kd" || config_.distill.method == "tutor_kd";
  }
  void resolve_minilm();  // checks and sets minilm_teacher_layer_ and minilm_heads_

  DistillConfig config_;
  model::BertForPreTraining teacher_, student_;
  std::unique_ptr<Tutor> tutor_;
  std::vector<int64_t> layer_map_;
  int64_t minilm_teacher_layer_ = 0;  // 0-based, method minilm
  int64_t minilm_heads_ = 0;
  torch::nn::Linear projection_{nullptr};      // H_S -> H_T for the hidden-state loss
  torch::nn::Sequential ratio_head_{nullptr};  // student_ratio = head: dense, GELU, 1 logit
  PhaseTimes times_;
};

}  // namespace kd::methods::distill

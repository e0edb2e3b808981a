// `kdprune distill` configuration: teacher → student distillation with a policy-gradient tutor
// (Tutor-KD, METHODS.md §1) and the baselines that are one switch away (plain KD, MiniLMv2's
// self-attention relations, MLM only).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "methods/pretrain/pretrain_config.h"

namespace kd::methods {

struct TeacherSection {
  std::string dir;  // model directory (frozen, eval mode, no autograd)
  template <class V>
  void visit(V& v) {
    v("dir", dir, "teacher model directory (Hugging Face layout)");
  }
};

struct TutorSection {
  // generator: a separate small MLM network (kdprune's variant); teacher_head: an MLM head on
  // the teacher's last hidden states (the paper's Fig. 1b and the released code), randomly
  // initialised as released or as a copy of the teacher's own head.
  std::string kind = "teacher_head";
  std::string head_init = "random";  // teacher_head only: random (released) | teacher
  ModelSection generator;            // used when kind = generator (vocab is the student's)
  double replace_fraction = 1.0;     // masked positions the tutor rewrites (1 = all, released code)
  bool mean_baseline = true;         // subtract the batch-mean reward (REINFORCE baseline)
  bool greedy = false;               // argmax instead of sampling (deterministic; for tests)
  template <class V>
  void visit(V& v) {
    v("kind", kind, "teacher_head | generator");
    v("head_init", head_init,
      "teacher_head: random (N(0, initializer_range), the released code) | teacher (a copy of "
      "the teacher's MLM head: the tutor starts as the teacher)");
    v("generator", generator, "the tutor network when kind = generator");
    v("replace_fraction", replace_fraction,
      "fraction of masked positions the tutor rewrites; the rest keep [MASK]/random/kept");
    v("mean_baseline", mean_baseline, "subtract the batch-mean reward");
    v("greedy", greedy, "take the tutor's argmax instead of sampling (deterministic)");
  }
};

struct DistillWeights {
  double logit = 25;       // modified-logit loss (BCE on the capped probability ratio)
  double hidden = 0.5;     // hidden-state MSE (through a learned projection when widths differ)
  double attention = 0.5;  // attention-score MSE
  double mlm = 0;          // student cross-entropy against the original tokens at masked positions
  double kd = 1;           // plain KD: T^2 KL(teacher || student) at masked positions
  double minilm = 1;       // MiniLMv2 Q-Q, K-K, V-V relation KL (method minilm)
  double policy = 1;       // tutor REINFORCE
  double kl = 1;           // tutor KL(teacher || tutor) on the masked input
  template <class V>
  void visit(V& v) {
    v("logit", logit, "Tutor-KD modified-logit BCE");
    v("hidden", hidden, "hidden-state MSE (tutor_kd and kd)");
    v("attention", attention, "attention-score MSE (tutor_kd and kd)");
    v("mlm", mlm, "student MLM cross-entropy at masked positions (all methods; mlm forces 1)");
    v("kd", kd, "plain KD logit loss (method kd)");
    v("minilm", minilm, "MiniLMv2 self-attention relation loss (method minilm)");
    v("policy", policy, "tutor REINFORCE loss");
    v("kl", kl, "tutor KL to the teacher");
  }
};

struct DistillSection {
  std::string method = "tutor_kd";  // tutor_kd | kd | minilm | mlm
  // Student ratio r_S: `head` = sigmoid of a 1-logit head on the student's last hidden states
  // (released code), `probs` = min(1, p_S(a)/p_S(x)) from the student's own MLM probabilities.
  std::string student_ratio = "head";
  // Teacher ratio r_T = min(1, p_T(a)/p_T(x)) from the teacher's pass on the masked input X^M
  // (released code) or on the pseudo sample X' (where the replacement is visible).
  std::string teacher_ratio = "masked";
  std::string reward = "both";     // the tutor's reward: both (R_T + R_S) | teacher | student
  double temperature = 1.0;        // plain KD softmax temperature
  std::vector<int64_t> layer_map;  // student layer l (1-based) -> teacher layer; empty = uniform
  // MiniLMv2: the teacher layer whose Q/K/V relations the student's last layer learns (1-based;
  // 0 = the last) and the number of relation heads (0 = that teacher layer's attention heads).
  int64_t minilm_teacher_layer = 0;
  int64_t minilm_relation_heads = 0;
  template <class V>
  void visit(V& v) {
    v("method", method,
      "tutor_kd | kd (random masking, logit KD) | minilm (MiniLMv2 attention relations) | mlm "
      "(student MLM only)");
    v("student_ratio", student_ratio, "head | probs");
    v("teacher_ratio", teacher_ratio,
      "r_T from the teacher on: masked (X^M, the released code) | pseudo (X')");
    v("reward", reward, "tutor reward: both (R_T + R_S) | teacher (R_T) | student (R_S)");
    v("temperature", temperature, "plain KD temperature");
    v("layer_map", layer_map, "teacher layer for each student layer 1..L_S (empty: l * L_T / L_S)");
    v("minilm_teacher_layer", minilm_teacher_layer,
      "minilm: teacher layer (1-based) the student's last layer learns from; 0 = the last");
    v("minilm_relation_heads", minilm_relation_heads,
      "minilm: relation heads (0 = the teacher layer's attention heads); must divide the "
      "teacher's and the student's query/key/value widths");
  }
};

// How data.heldout is scored at the end (MLM accuracy, perplexity).
struct EvalSection {
  int64_t batch_size = 64;
  int64_t max_batches = 0;  // per rank; 0 = the whole held-out set
  template <class V>
  void visit(V& v) {
    v("batch_size", batch_size, "held-out rows per batch and rank");
    v("max_batches", max_batches, "per rank; 0 = all");
  }
};

struct DistillConfig : train::JobConfig {
  TeacherSection teacher;
  ModelSection student;
  TutorSection tutor;
  DistillSection distill;
  DistillWeights weights;
  DataWithHeldout data;
  EvalSection eval;
  template <class V>
  void visit(V& v) {
    train::JobConfig::visit(v);
    v("teacher", teacher);
    v("student", student);
    v("tutor", tutor);
    v("distill", distill);
    v("weights", weights);
    v("data", data);
    v("eval", eval);
  }
  void validate() const;
};

// The command as a library call on `comm` (the world, or a group of it).
int run_distill(const DistillConfig& config, std::shared_ptr<dist::Communicator> comm);

}  // namespace kd::methods

// The loss and reward terms of Tutor-KD (METHODS.md §1), plain KD and MiniLMv2, as pure functions
// of logits, hidden states and attention scores, so that each can be checked on hand-built inputs.
// Conventions: M masked positions; logits [M, V] fp32; original x [M] and replacement a [M]
// token ids (int64); every reward is returned detached.
#pragma once
#include <torch/torch.h>

#include <array>
#include <vector>

namespace kd::methods::distill {

// p(x_t) and p(a_t) under softmax(logits) at each of the M positions.
struct PairProbs {
  torch::Tensor original;  // [M]
  torch::Tensor replaced;  // [M]
};
PairProbs pair_probs(const torch::Tensor& logits, const torch::Tensor& original,
                     const torch::Tensor& replaced);

// One token per row of probs [M, V] (rows need not be normalised), from torch's default
// generator (so checkpoints restore the sampling stream).
torch::Tensor sample_categorical(const torch::Tensor& probs);

// R_T(t) = p_T(x_t | X') − p_T(a_t | X'): negative when the teacher prefers the replacement.
torch::Tensor teacher_reward(const PairProbs& teacher);

// r(t) = min(1, p(a_t) / p(x_t)), and exactly 1 where a_t == x_t (nothing was replaced).
// Differentiable where the cap is not active (used for the student's own ratio).
torch::Tensor capped_ratio(const PairProbs& p, const torch::Tensor& replaced_mask);

// R_S(t) = |r_T(t) − r_S(t)|: how far the student is from the teacher at t (detached).
torch::Tensor student_reward(const torch::Tensor& teacher_ratio,
                             const torch::Tensor& student_ratio);

// REINFORCE: −mean_t log π(a_t) · (R(t) − b), R detached, b = mean(R) when mean_baseline.
torch::Tensor reinforce_loss(const torch::Tensor& log_prob_sampled, const torch::Tensor& reward,
                             bool mean_baseline);

// mean over rows of KL(p || q) with p = softmax(target_logits) (detached), q = softmax(logits).
torch::Tensor kl_to_target(const torch::Tensor& logits, const torch::Tensor& target_logits,
                           double temperature = 1.0);

// Plain KD (Hinton): T² · mean_rows KL(softmax(z_T/T) || softmax(z_S/T)).
torch::Tensor logit_kd_loss(const torch::Tensor& student_logits,
                            const torch::Tensor& teacher_logits, double temperature);

// Modified-logit loss: BCE between the student's ratio and the teacher's, mean over entries
// where weight > 0. From a 1-logit head (`student_logit`, any shape) or from a ratio in [0, 1].
torch::Tensor ratio_bce_with_logits(const torch::Tensor& student_logit,
                                    const torch::Tensor& teacher_ratio,
                                    const torch::Tensor& weight);
torch::Tensor ratio_bce(const torch::Tensor& student_ratio, const torch::Tensor& teacher_ratio);

// Teacher layer for each student layer l = 1..L_S: configured, or l * L_T / L_S (uniform).
// Validates the configured map (length L_S, entries in 1..L_T).
std::vector<int64_t> resolve_layer_map(const std::vector<int64_t>& configured,
                                       int64_t student_layers, int64_t teacher_layers);

// Σ_l MSE(proj(h_S^l), h_T^{m(l)}) over l = 0 (embeddings, paired with the teacher's) .. L_S,
// averaged over real tokens (attention_mask [B, T]) and features. hidden_* are L+1 x [B, T, H].
// `projection` maps H_S to H_T (undefined module = identity; widths must then agree).
torch::Tensor hidden_loss(const std::vector<torch::Tensor>& student_hidden,
                          const std::vector<torch::Tensor>& teacher_hidden,
                          const std::vector<int64_t>& layer_map, torch::nn::Linear projection,
                          const torch::Tensor& attention_mask);

// Σ_l MSE(A_S^l, A_T^{m(l)}) on pre-softmax attention scores [B, A, T, T] over real
// query/key pairs; averaged over heads first when the head counts differ.
torch::Tensor attention_loss(const std::vector<torch::Tensor>& student_scores,
                             const std::vector<torch::Tensor>& teacher_scores,
                             const std::vector<int64_t>& layer_map,
                             const torch::Tensor& attention_mask);

// MiniLMv2's multi-head self-attention relation loss (Wang et al. 2021): each of a layer's
// query, key and value vectors [B, T, D] is split into `heads` relation heads of D/heads dims;
// relation R = softmax(A Aᵀ / √(D/heads)) over the real keys; the loss is the sum over Q-Q, K-K
// and V-V of KL(R_T || R_S), averaged over relation heads and real query positions
// (attention_mask [B, T]). The teacher's and student's D may differ; `heads` must divide both.
torch::Tensor relation_loss(const std::array<torch::Tensor, 3>& student_qkv,
                            const std::array<torch::Tensor, 3>& teacher_qkv, int64_t heads,
                            const torch::Tensor& attention_mask);

}  // namespace kd::methods::distill

#include "methods/distill/distill_losses.h"

#include <cmath>

#include "common/check.h"
#include "model/shape_util.h"

namespace kd::methods::distill {
namespace F = torch::nn::functional;

PairProbs pair_probs(const torch::Tensor& logits, const torch::Tensor& original,
                     const torch::Tensor& replaced) {
  // log p(i) = z_i - logsumexp(z): one reduction over the vocabulary, no [M, V] output.
  auto z = logits.to(torch::kFloat);
  auto lse = torch::logsumexp(z, -1);
  return {(z.gather(1, original.view({-1, 1})).view(-1) - lse).exp(),
          (z.gather(1, replaced.view({-1, 1})).view(-1) - lse).exp()};
}

torch::Tensor sample_categorical(const torch::Tensor& probs) {
  // Inverse CDF: one cumulative sum and a binary search per row (torch::multinomial was 6x
  // slower over a 30k vocabulary here). u is scaled by the row's total mass, so fp32 rounding
  // in the cumulative sum does not bias the last token.
  auto cdf = torch::cumsum(probs.to(torch::kFloat), -1);
  auto u = torch::rand({probs.size(0), 1}, cdf.options()) * cdf.narrow(1, cdf.size(1) - 1, 1);
  return torch::searchsorted(cdf, u, /*out_int32=*/false, /*right=*/true)
      .view(-1)
      .clamp_max(probs.size(1) - 1);
}

torch::Tensor teacher_reward(const PairProbs& teacher) {
  return (teacher.original - teacher.replaced).detach();
}

torch::Tensor capped_ratio(const PairProbs& p, const torch::Tensor& replaced_mask) {
  // In log space so that a tiny p(x) gives a large ratio, not inf/nan; capped at 1.
  auto log_ratio =
      torch::log(p.replaced.clamp_min(1e-30)) - torch::log(p.original.clamp_min(1e-30));
  auto r = torch::exp(torch::clamp_max(log_ratio, 0.0));
  return torch::where(replaced_mask, r, torch::ones_like(r));
}

torch::Tensor student_reward(const torch::Tensor& teacher_ratio,
                             const torch::Tensor& student_ratio) {
  return (teacher_ratio - student_ratio).abs().detach();
}

torch::Tensor reinforce_loss(const torch::Tensor& log_prob_sampled, const torch::Tensor& reward,
                             bool mean_baseline) {
  if (log_prob_sampled.numel() == 0) return log_prob_sampled.sum();
  auto r = reward.detach();
  if (mean_baseline) r = r - r.mean();
  return -(log_prob_sampled * r).mean();
}

torch::Tensor kl_to_target(const torch::Tensor& logits, const torch::Tensor& target_logits,
                           double temperature) {
  if (logits.size(0) == 0) return logits.sum();
  auto logq = torch::log_softmax(logits.to(torch::kFloat) / temperature, -1);
  auto logp = torch::log_softmax(target_logits.detach().to(torch::kFloat) / temperature, -1);
  return (logp.exp() * (logp - logq)).sum(-1).mean();
}

torch::Tensor logit_kd_loss(const torch::Tensor& student_logits,
                            const torch::Tensor& teacher_logits, double temperature) {
  return temperature * temperature * kl_to_target(student_logits, teacher_logits, temperature);
}

torch::Tensor ratio_bce_with_logits(const torch::Tensor& student_logit,
                                    const torch::Tensor& teacher_ratio,
                                    const torch::Tensor& weight) {
  auto w = weight.to(torch::kFloat);
  auto per = F::binary_cross_entropy_with_logits(
      student_logit.to(torch::kFloat), teacher_ratio.detach().to(torch::kFloat),
      F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
  return (per * w).sum() / w.sum().clamp_min(1.0);
}

torch::Tensor ratio_bce(const torch::Tensor& student_ratio, const torch::Tensor& teacher_ratio) {
  if (student_ratio.numel() == 0) return student_ratio.sum();
  // Clamped so that a ratio of exactly 1 (capped) gives a finite loss and zero gradient.
  return F::binary_cross_entropy(student_ratio.clamp(1e-6, 1 - 1e-6),
                                 teacher_ratio.detach().to(torch::kFloat));
}

std::vector<int64_t> resolve_layer_map(const std::vector<int64_t>& configured,
                                       int64_t student_layers, int64_t teacher_layers) {
  if (configured.empty()) {
    std::vector<int64_t> map;
    for (int64_t l = 1; l <= student_layers; ++l)
      map.push_back(l * teacher_layers / student_layers);
    return map;
  }
  KD_CHECK_HINT(static_cast<int64_t>(configured.size()) == student_layers,
                "list one teacher layer per student layer, or leave it empty for l*L_T/L_S",
                "distill.layer_map has {} entries but the student has {} layers", configured.size(),
                student_layers);
  for (int64_t m : configured)
    KD_CHECK(m >= 1 && m <= teacher_layers,
             "distill.layer_map entry {} is not a teacher layer (1..{})", m, teacher_layers);
  return configured;
}

torch::Tensor hidden_loss(const std::vector<torch::Tensor>& student_hidden,
                          const std::vector<torch::Tensor>& teacher_hidden,
                          const std::vector<int64_t>& layer_map, torch::nn::Linear projection,
                          const torch::Tensor& attention_mask) {
  KD_CHECK(student_hidden.size() == layer_map.size() + 1,
           "hidden_loss: {} student hidden states for {} mapped layers", student_hidden.size(),
           layer_map.size());
  auto w = attention_mask.to(torch::kFloat).unsqueeze(-1);  // [B, T, 1]
  const double denom = std::max(1.0, w.sum().item<double>()) * teacher_hidden[0].size(-1);
  torch::Tensor total;
  for (size_t l = 0; l < student_hidden.size(); ++l) {
    auto hs = student_hidden[l].to(torch::kFloat);
    if (projection) hs = projection(hs);
    const auto& ht = teacher_hidden.at(l == 0 ? 0 : static_cast<size_t>(layer_map[l - 1]));
    KD_CHECK(hs.sizes() == ht.sizes(),
             "hidden_loss: student layer {} has shape {} but teacher layer has {} (set a "
             "projection)",
             l, model::shape_str(hs.sizes()), model::shape_str(ht.sizes()));
    auto term = ((hs - ht.detach()).pow(2) * w).sum() / denom;
    total = total.defined() ? total + term : term;
  }
  return total;
}

torch::Tensor attention_loss(const std::vector<torch::Tensor>& student_scores,
                             const std::vector<torch::Tensor>& teacher_scores,
                             const std::vector<int64_t>& layer_map,
                             const torch::Tensor& attention_mask) {
  KD_CHECK(student_scores.size() == layer_map.size(),
           "attention_loss: {} student layers for {} mapped layers", student_scores.size(),
           layer_map.size());
  auto m = attention_mask.to(torch::kFloat);
  auto pair = (m.unsqueeze(2) * m.unsqueeze(1)).unsqueeze(1);  // [B, 1, T, T]
  torch::Tensor total;
  for (size_t l = 0; l < student_scores.size(); ++l) {
    auto s = student_scores[l].to(torch::kFloat);
    auto t = teacher_scores.at(static_cast<size_t>(layer_map[l] - 1)).detach().to(torch::kFloat);
    if (s.size(1) != t.size(1)) {
      s = s.mean(1, /*keepdim=*/true);
      t = t.mean(1, /*keepdim=*/true);
    }
    const double denom = std::max(1.0, pair.sum().item<double>()) * s.size(1);
    auto term = ((s - t).pow(2) * pair).sum() / denom;
    total = total.defined() ? total + term : term;
  }
  return total;
}

namespace {

// log R [B, heads, T, T] for one of Q, K, V; padded keys get a large finite negative score, so
// their probability is exactly 0 and 0 · log 0 never appears as NaN.
torch::Tensor relation_log_probs(const torch::Tensor& a, int64_t heads,
                                 const torch::Tensor& key_pad) {
  const int64_t B = a.size(0), T = a.size(1), D = a.size(2);
  KD_CHECK(heads > 0 && D % heads == 0,
           "MiniLM relation heads: {} does not divide the query/key/value width {} (set "
           "distill.minilm_relation_heads to a common divisor of the teacher's and student's)",
           heads, D);
  const int64_t d = D / heads;
  auto x = a.to(torch::kFloat).view({B, T, heads, d}).transpose(1, 2);  // [B, R, T, d]
  auto scores = torch::matmul(x, x.transpose(-1, -2)) / std::sqrt(static_cast<double>(d));
  return torch::log_softmax(scores.masked_fill(key_pad, -1e9), -1);
}

}  // namespace

torch::Tensor relation_loss(const std::array<torch::Tensor, 3>& student_qkv,
                            const std::array<torch::Tensor, 3>& teacher_qkv, int64_t heads,
                            const torch::Tensor& attention_mask) {
  auto real = attention_mask.to(torch::kFloat);                         // [B, T]
  auto key_pad = (real == 0).view({real.size(0), 1, 1, real.size(1)});  // [B, 1, 1, T]
  const double rows = std::max(1.0, real.sum().item<double>()) * static_cast<double>(heads);
  auto query_weight = real.view({real.size(0), 1, real.size(1)});  // [B, 1, T]
  torch::Tensor total;
  for (size_t i = 0; i < 3; ++i) {
    KD_CHECK(student_qkv[i].dim() == 3 && teacher_qkv[i].dim() == 3 &&
                 student_qkv[i].size(1) == teacher_qkv[i].size(1),
             "relation_loss: student {} and teacher {} are not [B, T, D] of one batch",
             model::shape_str(student_qkv[i].sizes()), model::shape_str(teacher_qkv[i].sizes()));
    auto log_s = relation_log_probs(student_qkv[i], heads, key_pad);
    auto log_t = relation_log_probs(teacher_qkv[i].detach(), heads, key_pad);
    auto kl_rows = (log_t.exp() * (log_t - log_s)).sum(-1);  // [B, R, T]
    auto term = (kl_rows * query_weight).sum() / rows;
    total = total.defined() ? total + term : term;
  }
  return total;
}

}  // namespace kd::methods::distill

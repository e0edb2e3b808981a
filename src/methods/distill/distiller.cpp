#include "methods/distill/distiller.h"

#include <chrono>

#include "common/check.h"
#include "common/log.h"
#include "methods/distill/distill_losses.h"
#include "model/shape_util.h"
#include "train/cross_entropy.h"

namespace kd::methods::distill {
namespace {

torch::ScalarType compute_dtype_for(const std::string& precision) {
  if (precision == "bf16") return torch::kBFloat16;
  if (precision == "fp16") return torch::kHalf;
  return torch::kFloat;
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

torch::Tensor value(const torch::Tensor& t) {
  return t.defined() ? t.detach().to(torch::kDouble) : torch::zeros({}, torch::kDouble);
}

torch::Tensor zero_like_loss(const torch::Tensor& ref) {
  return torch::zeros({}, ref.options().dtype(torch::kFloat));
}

torch::Tensor accuracy(const torch::Tensor& logits, const torch::Tensor& targets) {
  torch::NoGradGuard no_grad;
  if (targets.numel() == 0) return torch::zeros({}, logits.options().dtype(torch::kDouble));
  return (logits.argmax(-1) == targets).to(torch::kFloat).mean().to(torch::kDouble);
}

}  // namespace

Distiller::Distiller(const DistillConfig& config, model::BertForPreTraining teacher,
                     model::BertForPreTraining student)
    : config_(config), teacher_(std::move(teacher)), student_(std::move(student)) {
  const auto& d = config_.distill;
  KD_CHECK(d.method == "tutor_kd" || d.method == "kd" || d.method == "minilm" || d.method == "mlm",
           "distill.method must be tutor_kd, kd, minilm or mlm (got '{}')", d.method);
  KD_CHECK(d.student_ratio == "head" || d.student_ratio == "probs",
           "distill.student_ratio must be head or probs (got '{}')", d.student_ratio);
  KD_CHECK(d.teacher_ratio == "masked" || d.teacher_ratio == "pseudo",
           "distill.teacher_ratio must be masked or pseudo (got '{}')", d.teacher_ratio);
  KD_CHECK(d.reward == "both" || d.reward == "teacher" || d.reward == "student",
           "distill.reward must be both, teacher or student (got '{}')", d.reward);
  const auto& tc = teacher_->config();
  const auto& sc = student_->config();
  KD_CHECK_HINT(tc.vocab_size == sc.vocab_size, "give the student the teacher's vocab.txt",
                "student vocabulary ({}) differs from the teacher's ({})", sc.vocab_size,
                tc.vocab_size);
  const auto dtype = compute_dtype_for(config_.train.precision);
  teacher_->eval();
  for (auto& p : teacher_->parameters()) p.set_requires_grad(false);
  teacher_->set_compute_dtype(dtype);
  student_->set_compute_dtype(dtype);
  student_->train();
  layer_map_ = resolve_layer_map(d.layer_map, sc.num_hidden_layers, tc.num_hidden_layers);
  if (d.method == "minilm") resolve_minilm();
  if (uses_feature_losses() && config_.weights.hidden > 0 && sc.hidden_size != tc.hidden_size)
    projection_ = torch::nn::Linear(sc.hidden_size, tc.hidden_size);
  if (d.method == "tutor_kd") {
    tutor_ = std::make_unique<Tutor>(config_.tutor, teacher_, config_.seed, dtype);
    tutor_->train(true);
    if (d.student_ratio == "head")
      ratio_head_ = torch::nn::Sequential(torch::nn::Linear(sc.hidden_size, sc.hidden_size),
                                          torch::nn::GELU(), torch::nn::Linear(sc.hidden_size, 1));
  }
  if (config_.device == "cuda") {
    torch::Device dev(torch::kCUDA);
    teacher_->to(dev);
    student_->to(dev);
    if (tutor_) tutor_->to(dev);
    if (projection_) projection_->to(dev);
    if (ratio_head_) ratio_head_->to(dev);
  }
  KD_CHECK(config_.tutor.replace_fraction > 0 && config_.tutor.replace_fraction <= 1,
           "tutor.replace_fraction must be in (0, 1] (got {})", config_.tutor.replace_fraction);
}

train::NamedTensors Distiller::trainable_parameters() {
  train::NamedTensors out;
  for (auto& item : student_->named_parameters())
    out.emplace_back("student." + item.key(), item.value());
  for (auto& named : module_state()) out.push_back(named);
  return out;
}

train::NamedTensors Distiller::module_state() {
  train::NamedTensors out;
  if (tutor_)
    for (auto& named : tutor_->parameters("tutor.")) out.push_back(named);
  if (projection_)
    for (auto& item : projection_->named_parameters())
      out.emplace_back("heads.hidden_projection." + item.key(), item.value());
  if (ratio_head_)
    for (auto& item : ratio_head_->named_parameters())
      out.emplace_back("heads.ratio." + item.key(), item.value());
  return out;
}

void Distiller::load_module_state(const std::map<std::string, torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : module_state()) {
    auto it = tensors.find(name);
    KD_CHECK(it != tensors.end(),
             "distillation state lacks '{}' (a checkpoint of another "
             "distill config?)",
             name);
    KD_CHECK(it->second.sizes() == t.sizes(), "distillation state '{}' has shape {}, expected {}",
             name, model::shape_str(it->second.sizes()), model::shape_str(t.sizes()));
    t.copy_(it->second);
  }
}

model::ForwardOptions Distiller::options(const torch::Tensor& pos, bool mlm) const {
  model::ForwardOptions o;
  o.mlm_positions = pos;
  o.compute_mlm = mlm;
  o.compute_nsp = false;
  o.output_hidden_states = uses_feature_losses() && config_.weights.hidden > 0;
  o.output_attentions = uses_feature_losses() && config_.weights.attention > 0;
  return o;
}

std::pair<torch::Tensor, torch::Tensor> Distiller::feature_losses(
    const model::BertOutput& s, const model::BertOutput& t, const torch::Tensor& attention_mask) {
  auto zero = zero_like_loss(s.sequence_output);
  torch::Tensor hidden = zero, attention = zero;
  if (config_.weights.hidden > 0)
    hidden = hidden_loss(s.hidden_states, t.hidden_states, layer_map_, projection_, attention_mask);
  if (config_.weights.attention > 0)
    attention = attention_loss(s.attention_scores, t.attention_scores, layer_map_, attention_mask);
  return {hidden, attention};
}

DistillStep Distiller::step(const data::PretrainBatch& b) {
  auto labels = b.mlm_labels.reshape(-1);
  auto pos = (labels != -100).nonzero().reshape(-1);  // flat b*T+t, [M]
  auto x = labels.index_select(0, pos);               // original tokens [M]
  const auto& m = config_.distill.method;
  times_ = {};
  if (m == "mlm") return step_mlm(b, pos, x);
  if (m == "kd") return step_kd(b, pos, x);
  if (m == "minilm") return step_minilm(b, pos, x);
  return step_tutor_kd(b, pos, x);
}

DistillStep Distiller::step_mlm(const data::PretrainBatch& b, const torch::Tensor& pos,
                                const torch::Tensor& x) {
  const auto t0 = Clock::now();
  auto s = student_->forward(b.input_ids, b.token_type_ids, b.attention_mask, options(pos, true));
  auto mlm = train::cross_entropy_mean(s.mlm_logits, x);
  times_.student = seconds_since(t0);
  return {mlm, {{"mlm", value(mlm)}, {"student_mlm_acc", accuracy(s.mlm_logits, x)}}};
}

DistillStep Distiller::step_kd(const data::PretrainBatch& b, const torch::Tensor& pos,
                               const torch::Tensor& x) {
  const auto& w = config_.weights;
  auto t0 = Clock::now();
  model::BertOutput t;
  {
    torch::NoGradGuard no_grad;
    t = teacher_->forward(b.input_ids, b.token_type_ids, b.attention_mask, options(pos, true));
  }
  times_.teacher = seconds_since(t0);
  t0 = Clock::now();
  auto s = student_->forward(b.input_ids, b.token_type_ids, b.attention_mask, options(pos, true));
  auto kd = logit_kd_loss(s.mlm_logits, t.mlm_logits, config_.distill.temperature);
  auto [hidden, attention] = feature_losses(s, t, b.attention_mask);
  auto mlm = w.mlm > 0 ? train::cross_entropy_mean(s.mlm_logits, x) : zero_like_loss(kd);
  auto loss = w.kd * kd + w.hidden * hidden + w.attention * attention + w.mlm * mlm;
  times_.student = seconds_since(t0);
  return {loss,
          {{"kd", value(kd)},
           {"hidden", value(hidden)},
           {"attention", value(attention)},
           {"mlm", value(mlm)},
           {"student_mlm_acc", accuracy(s.mlm_logits, x)},
           {"teacher_mlm_acc", accuracy(t.mlm_logits, x)}}};
}

void Distiller::resolve_minilm() {
  const auto& d = config_.distill;
  const int64_t lt = teacher_->num_layers(), ls = student_->num_layers();
  KD_CHECK(d.minilm_teacher_layer <= lt,
           "distill.minilm_teacher_layer {} is past the teacher's {} layers",
           d.minilm_teacher_layer, lt);
  minilm_teacher_layer_ = (d.minilm_teacher_layer == 0 ? lt : d.minilm_teacher_layer) - 1;
  const auto td = teacher_->layer(minilm_teacher_layer_)->dims();
  const auto sd = student_->layer(ls - 1)->dims();
  minilm_heads_ = d.minilm_relation_heads > 0 ? d.minilm_relation_heads : td.num_heads;
  for (auto [who, width] :
       {std::pair<const char*, int64_t>{"teacher query/key", td.num_heads * td.qk_head_size},
        {"teacher value", td.num_heads * td.v_head_size},
        {"student query/key", sd.num_heads * sd.qk_head_size},
        {"student value", sd.num_heads * sd.v_head_size}})
    KD_CHECK_HINT(minilm_heads_ > 0 && width % minilm_heads_ == 0,
                  "set distill.minilm_relation_heads to a common divisor of the teacher's and "
                  "student's widths",
                  "MiniLM: {} relation heads do not divide the {} width {}", minilm_heads_, who,
                  width);
}

namespace {

// Query, key and value projections [B, T, D] of layer `l`, recomputed from its input (the
// previous layer's output, hidden_states[l]): the model's forward keeps them inside the layer.
std::array<torch::Tensor, 3> layer_qkv(model::BertForPreTraining& m, int64_t l,
                                       const model::BertOutput& out) {
  auto layer = m->layer(l);
  auto x = out.hidden_states.at(static_cast<size_t>(l)).to(layer->query->compute_dtype());
  return {layer->query(x), layer->key(x), layer->value(x)};
}

}  // namespace

DistillStep Distiller::step_minilm(const data::PretrainBatch& b, const torch::Tensor& pos,
                                   const torch::Tensor& x) {
  const auto& w = config_.weights;
  model::ForwardOptions o;
  o.mlm_positions = pos;
  o.compute_nsp = false;
  o.output_hidden_states = true;
  auto t0 = Clock::now();
  std::array<torch::Tensor, 3> teacher_qkv;
  {
    torch::NoGradGuard no_grad;
    o.compute_mlm = false;
    auto t = teacher_->forward(b.input_ids, b.token_type_ids, b.attention_mask, o);
    teacher_qkv = layer_qkv(teacher_, minilm_teacher_layer_, t);
  }
  times_.teacher = seconds_since(t0);
  t0 = Clock::now();
  o.compute_mlm = w.mlm > 0;
  auto s = student_->forward(b.input_ids, b.token_type_ids, b.attention_mask, o);
  auto relations = relation_loss(layer_qkv(student_, student_->num_layers() - 1, s), teacher_qkv,
                                 minilm_heads_, b.attention_mask);
  auto mlm = w.mlm > 0 ? train::cross_entropy_mean(s.mlm_logits, x) : zero_like_loss(relations);
  times_.student = seconds_since(t0);
  DistillStep r{w.minilm * relations + w.mlm * mlm,
                {{"minilm", value(relations)}, {"mlm", value(mlm)}}};
  if (w.mlm > 0) r.parts["student_mlm_acc"] = accuracy(s.mlm_logits, x);
  return r;
}

DistillStep Distiller::step_tutor_kd(const data::PretrainBatch& b, const torch::Tensor& pos,
                                     const torch::Tensor& x) {
  const auto& w = config_.weights;
  const auto& tc = config_.tutor;
  const bool head_ratio = config_.distill.student_ratio == "head";
  const bool ratio_on_masked = config_.distill.teacher_ratio == "masked";

  // 1. The tutor reads the masked input X^M and proposes a token at every masked position.
  auto t0 = Clock::now();
  model::BertOutput t_masked;
  const bool need_teacher_masked = tutor_->reads_teacher_states() || w.kl > 0 || ratio_on_masked;
  if (need_teacher_masked) {
    torch::NoGradGuard no_grad;
    model::ForwardOptions o;
    o.mlm_positions = pos;
    o.compute_mlm = w.kl > 0 || ratio_on_masked;
    o.compute_nsp = false;
    t_masked = teacher_->forward(b.input_ids, b.token_type_ids, b.attention_mask, o);
  }
  times_.teacher = seconds_since(t0);
  t0 = Clock::now();
  auto tutor_logits = tutor_->logits(b.input_ids, b.token_type_ids, b.attention_mask, pos,
                                     t_masked.sequence_output);
  auto log_pi = torch::log_softmax(tutor_logits, -1);  // [M, V]
  torch::Tensor sampled, rewrite;
  {
    torch::NoGradGuard no_grad;
    sampled = tc.greedy ? log_pi.argmax(-1) : sample_categorical(log_pi.exp());
    rewrite =
        tc.replace_fraction >= 1.0
            ? torch::ones_like(sampled, torch::kBool)
            : torch::bernoulli(
                  torch::full(sampled.sizes(), tc.replace_fraction,
                              torch::TensorOptions().dtype(torch::kFloat).device(sampled.device())))
                  .to(torch::kBool);
  }
  // 2. The pseudo sample X': rewritten positions carry the tutor's token, the others keep X^M.
  auto flat_masked = b.input_ids.reshape(-1);
  auto current = torch::where(rewrite, sampled, flat_masked.index_select(0, pos));  // c_t [M]
  auto pseudo = flat_masked.clone().index_put_({pos}, current).view_as(b.input_ids);
  auto replaced = current != x;
  times_.tutor = seconds_since(t0);

  // 3. Teacher on X': reward R_T; target ratio r_T from X^M (released) or X'.
  t0 = Clock::now();
  model::BertOutput t;
  {
    torch::NoGradGuard no_grad;
    t = teacher_->forward(pseudo, b.token_type_ids, b.attention_mask, options(pos, true));
  }
  times_.teacher += seconds_since(t0);
  t0 = Clock::now();
  auto p_t = pair_probs(t.mlm_logits, x, current);
  auto reward_t = teacher_reward(p_t);
  auto ratio_t =
      capped_ratio(ratio_on_masked ? pair_probs(t_masked.mlm_logits, x, current) : p_t, replaced);

  // 4. Student on X': modified-logit, hidden and attention losses.
  const bool student_mlm = !head_ratio || w.mlm > 0;
  auto s = student_->forward(pseudo, b.token_type_ids, b.attention_mask, options(pos, student_mlm));
  torch::Tensor logit_loss, ratio_s;
  if (head_ratio) {
    auto seq = s.sequence_output.to(torch::kFloat);
    auto score = ratio_head_->forward(seq.reshape({-1, seq.size(-1)})).view(-1);  // [B*T]
    auto target = torch::ones_like(score).index_put_({pos}, ratio_t);  // unmasked: original, 1
    logit_loss = ratio_bce_with_logits(score, target, b.attention_mask.reshape(-1));
    ratio_s = torch::sigmoid(score.index_select(0, pos));
  } else {
    ratio_s = capped_ratio(pair_probs(s.mlm_logits, x, current), replaced);
    logit_loss = ratio_bce(ratio_s, ratio_t);
  }
  auto [hidden, attention] = feature_losses(s, t, b.attention_mask);
  auto zero = zero_like_loss(logit_loss);
  auto mlm = w.mlm > 0 ? train::cross_entropy_mean(s.mlm_logits, x) : zero;
  auto student_loss =
      w.logit * logit_loss + w.hidden * hidden + w.attention * attention + w.mlm * mlm;

  // 5. Tutor: REINFORCE on the rewritten positions with R = R_T + R_S (or one of them, for
  // the ablations), plus KL to the teacher.
  auto reward_s = student_reward(ratio_t, ratio_s);
  const auto& which = config_.distill.reward;
  auto reward = which == "teacher" ? reward_t : which == "student" ? reward_s : reward_t + reward_s;
  auto idx = rewrite.nonzero().view(-1);
  auto log_pi_sampled = log_pi.gather(1, sampled.view({-1, 1})).view(-1).index_select(0, idx);
  auto policy = reinforce_loss(log_pi_sampled, reward.index_select(0, idx), tc.mean_baseline);
  auto kl = w.kl > 0 ? kl_to_target(tutor_logits, t_masked.mlm_logits) : zero;
  auto tutor_loss = w.policy * policy + w.kl * kl;
  times_.student = seconds_since(t0);  // includes the tutor's loss terms (small)

  const double m = std::max<int64_t>(1, x.numel());
  return {student_loss + tutor_loss,
          {{"student_loss", value(student_loss)},
           {"tutor_loss", value(tutor_loss)},
           {"logit", value(logit_loss)},
           {"hidden", value(hidden)},
           {"attention", value(attention)},
           {"mlm", value(mlm)},
           {"policy", value(policy)},
           {"kl", value(kl)},
           {"reward_teacher", value(reward_t.sum()) / m},
           {"reward_student", value(reward_s.sum()) / m},
           {"replaced", value(replaced.sum()) / m},
           {"ratio_teacher", value(ratio_t.sum()) / m},
           {"student_mlm_acc", student_mlm ? accuracy(s.mlm_logits, x) : value({})}}};
}

}  // namespace kd::methods::distill

// A fine-tuning step next to a pre-training step of the same model, side by side in one run:
// the quickstart's BERT (H=256, L=4, A=4, F=1024, V=30522), 32 sequences of T tokens, one
// thread, fp32 and bf16, AdamW on every trained tensor and the global-norm clip in both:
//   Pretrain  MLM logits at 20 positions per sequence (the V=30522 decoder) + NSP, every tensor
//   Finetune  the pooled output → dropout → a 3-class classifier, cross-entropy (kdprune
//             finetune's SequenceClassifier: the pre-training heads are not run or trained)
// Run: build/bench/kd_bench --benchmark_filter=StepKind
#include <benchmark/benchmark.h>

#include "common/allocator.h"
#include "model/bert.h"
#include "model/sequence_classifier.h"
#include "train/optimizer.h"

namespace {

constexpr int64_t kH = 256, kL = 4, kA = 4, kF = 1024, kV = 30522, kB = 32, kP = 20;

kd::model::BertForPreTraining quickstart_bert(bool bf16) {
  auto cfg = kd::model::BertConfig::uniform(kV, kH, kL, kA, kF);
  cfg.max_position_embeddings = 128;
  kd::model::BertForPreTraining m(cfg);
  m->init_weights(1);
  m->set_compute_dtype(bf16 ? torch::kBFloat16 : torch::kFloat);
  m->train();
  return m;
}

void report(benchmark::State& state, int64_t T) {
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(kB * T * state.iterations()),
                                                  benchmark::Counter::kIsRate);
  state.SetLabel(state.range(0) ? "bf16" : "fp32");
}

// Args: {bf16, T}
void BM_StepKind_Pretrain(benchmark::State& state) {
  torch::set_num_threads(1);
  kd::configure_allocator_for_training();
  const int64_t T = state.range(1);
  auto model = quickstart_bert(state.range(0) != 0);
  kd::train::NamedTensors params;
  for (auto& kv : model->named_parameters()) params.emplace_back(kv.key(), kv.value());
  kd::train::Optimizer opt(params, {});
  auto ids = torch::randint(1000, kV, {kB, T}, torch::kLong);
  kd::model::ForwardOptions fo;
  fo.mlm_positions =
      (torch::arange(kB).unsqueeze(1) * T + torch::arange(1, 1 + kP) * (T / (kP + 1))).reshape(-1);
  auto targets = torch::randint(1000, kV, {kB * kP}, torch::kLong);
  auto nsp = torch::randint(0, 2, {kB}, torch::kLong);
  auto step = [&] {
    auto out = model->forward(ids, torch::zeros_like(ids), torch::ones_like(ids), fo);
    (torch::nn::functional::cross_entropy(out.mlm_logits, targets) +
     torch::nn::functional::cross_entropy(out.nsp_logits, nsp))
        .backward();
    kd::train::clip_grad_norm(params, 1.0);
    opt.step(1e-4);
    opt.zero_grad();
  };
  step();  // warm-up
  for (auto _ : state) step();
  report(state, T);
}

void BM_StepKind_Finetune(benchmark::State& state) {
  torch::set_num_threads(1);
  kd::configure_allocator_for_training();
  const int64_t T = state.range(1);
  kd::model::SequenceClassifier model(quickstart_bert(state.range(0) != 0), 3, 0.1, 2);
  model.train(true);
  const auto params = model.named_parameters();
  kd::train::Optimizer opt(params, {});
  auto ids = torch::randint(1000, kV, {kB, T}, torch::kLong);
  auto labels = torch::randint(0, 3, {kB}, torch::kLong);
  auto step = [&] {
    kd::model::sequence_classification_loss(
        model.forward(ids, torch::zeros_like(ids), torch::ones_like(ids)), labels)
        .backward();
    kd::train::clip_grad_norm(params, 1.0);
    opt.step(1e-4);
    opt.zero_grad();
  };
  step();
  for (auto _ : state) step();
  report(state, T);
}

}  // namespace

BENCHMARK(BM_StepKind_Pretrain)
    ->Args({0, 64})
    ->Args({0, 128})
    ->Args({1, 128})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);
BENCHMARK(BM_StepKind_Finetune)
    ->Args({0, 64})
    ->Args({0, 128})
    ->Args({1, 128})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);

// Cost of one relational-probing training step on the quickstart's BERT (H=256, L=4, A=4,
// F=1024, V=30522; 32 cloze sentences of 12 tokens, one [MASK] each; one thread, fp32), side by
// side in one run:
//   finetune  the unmasked step: the weights of layers 2..3 trained directly (what LAMP replaces)
//   lamp      LAMP: the same layers frozen, W ⊙ M(G) with straight-through masks, G trained
//   prompt/N  a soft-prompt ensemble of N OptiPrompt prompts (5 vectors), one batched forward
// Run: build/bench/kd_bench --benchmark_filter=ProbeStep
#include <benchmark/benchmark.h>

#include "methods/prompt/soft_prompts.h"
#include "methods/relmask/relation_masks.h"
#include "model/bert.h"
#include "train/optimizer.h"

namespace {

constexpr int64_t kH = 256, kL = 4, kA = 4, kF = 1024, kV = 30522, kB = 32, kT = 12;

kd::model::BertForPreTraining frozen_model() {
  auto cfg = kd::model::BertConfig::uniform(kV, kH, kL, kA, kF);
  cfg.max_position_embeddings = 128;
  kd::model::BertForPreTraining m(cfg);
  m->init_weights(1);
  m->eval();
  for (auto& p : m->parameters()) p.set_requires_grad(false);
  return m;
}

torch::Tensor cloze_loss(kd::model::BertForPreTraining& m, const torch::Tensor& ids,
                         const torch::Tensor& objects) {
  kd::model::ForwardOptions o;
  o.compute_nsp = false;
  o.mlm_positions = torch::arange(kB) * kT + (kT - 3);  // "... [MASK] . [SEP]"
  auto logits = m->forward(ids, torch::zeros_like(ids), torch::ones_like(ids), o).mlm_logits;
  return torch::nn::functional::cross_entropy(logits, objects);
}

// Times cloze steps (forward, backward, AdamW on `trained`) on a fixed random batch.
void time_cloze_steps(benchmark::State& state, kd::model::BertForPreTraining& m,
                      const kd::train::NamedTensors& trained) {
  kd::train::Optimizer opt(trained, {});
  auto ids = torch::randint(1000, 5000, {kB, kT});
  auto objects = torch::randint(1000, 5000, {kB});
  for (auto _ : state) {
    cloze_loss(m, ids, objects).backward();
    opt.step(3e-4);
    opt.zero_grad();
  }
  state.counters["facts/s"] =
      benchmark::Counter(static_cast<double>(kB * state.iterations()), benchmark::Counter::kIsRate);
}

void BM_ProbeStep_Finetune(benchmark::State& state) {
  torch::set_num_threads(1);
  auto m = frozen_model();
  kd::train::NamedTensors trained;
  for (auto& p : m->named_parameters())
    if (p.key().find("encoder.layer.2.") != std::string::npos ||
        p.key().find("encoder.layer.3.") != std::string::npos) {
      p.value().set_requires_grad(true);
      trained.emplace_back(p.key(), p.value());
    }
  time_cloze_steps(state, m, trained);
}

void BM_ProbeStep_Lamp(benchmark::State& state) {
  torch::set_num_threads(1);
  auto m = frozen_model();
  kd::methods::relmask::MaskOptions o;
  o.first_layer = 2;
  kd::methods::relmask::RelationMasks masks(m, o, 3);
  masks.attach(m);
  masks.set_training(true);
  time_cloze_steps(state, m, masks.named_logits());
}

void BM_ProbeStep_Prompt(benchmark::State& state) {
  torch::set_num_threads(1);
  auto m = frozen_model();
  const int64_t N = state.range(0), n = 5;
  std::vector<kd::methods::prompt::PromptItem> items;
  for (int64_t i = 0; i < kB; ++i) {  // [CLS] subject(2) V1..V5 [MASK] . [SEP] = 11 tokens
    kd::methods::prompt::PromptItem it;
    it.ids = {101, 1000 + i, 2000 + i, 0, 0, 0, 0, 0, 103, 1012, 102};
    it.slots = {3, 4, 5, 6, 7};
    it.mask_at = 8;
    it.object = 3000 + i;
    items.push_back(it);
  }
  auto batch = kd::methods::prompt::make_prompt_batch(items, 0, items.size());
  auto prompts = torch::randn({N, n, kH}).mul_(0.02).set_requires_grad(true);
  kd::train::Optimizer opt({{"prompts", prompts}}, {});
  for (auto _ : state) {
    auto logits = kd::methods::prompt::prompt_logits(m, prompts, batch);
    (torch::nn::functional::cross_entropy(logits.reshape({-1, kV}), batch.objects.repeat(N)) *
     static_cast<double>(N))
        .backward();
    opt.step(3e-3);
    opt.zero_grad();
  }
  state.counters["facts/s"] = benchmark::Counter(static_cast<double>(kB * N * state.iterations()),
                                                 benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_ProbeStep_Finetune)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProbeStep_Lamp)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProbeStep_Prompt)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond);

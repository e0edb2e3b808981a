// Training-step throughput of the BERT used by the quickstart (H=256, L=4, A=4, F=1024,
// T=128, 20 masked positions per sequence) on one thread, fp32 and bf16, with the achieved
// matmul FLOP/s as a fraction of the peak measured in the same run (a 1024³ torch::mm in the
// same precision). Run: build/bench/kd_bench --benchmark_filter='Matmul|TrainStep'
#include <benchmark/benchmark.h>

#include <chrono>

#include "common/allocator.h"
#include "model/bert.h"
#include "train/optimizer.h"

namespace {

constexpr int64_t kH = 256, kL = 4, kA = 4, kF = 1024, kT = 128, kP = 20, kV = 30522;

double matmul_gflops(torch::ScalarType dtype) {
  static std::map<torch::ScalarType, double> cache;
  if (cache.count(dtype)) return cache[dtype];
  const int64_t n = 1024;
  auto a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);
  for (int i = 0; i < 3; ++i) torch::mm(a, b);
  std::vector<double> rates;
  for (int i = 0; i < 7; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    torch::mm(a, b);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(2.0 * n * n * n / s / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  return cache[dtype] = rates[rates.size() / 2];
}

// Matmul FLOPs of one training step (forward + backward = 3x forward) for batch b.
double step_flops(int64_t b) {
  const double tokens = static_cast<double>(b * kT);
  const double linear_params = kL * (4.0 * kH * kH + 2.0 * kH * kF);
  const double attention = 4.0 * kT * kH * kL;  // Q·Kᵀ and P·V per token, forward
  const double head = static_cast<double>(b * kP) * (kH * kH + kH * kV);
  return 3.0 * (2.0 * tokens * linear_params + tokens * attention + 2.0 * head);
}

void BM_Matmul1024(benchmark::State& state) {
  torch::set_num_threads(1);
  auto dtype = state.range(0) ? torch::kBFloat16 : torch::kFloat;
  auto a = torch::randn({1024, 1024}).to(dtype), b = torch::randn({1024, 1024}).to(dtype);
  for (auto _ : state) benchmark::DoNotOptimize(torch::mm(a, b));
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * 1024 * 1024 * 1024 * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(state.range(0) ? "bf16" : "fp32");
}

void BM_TrainStep(benchmark::State& state) {
  torch::set_num_threads(1);
  kd::configure_allocator_for_training();  // as the kdprune binary does
  const bool bf16 = state.range(0) != 0;
  const int64_t b = state.range(1);
  auto cfg = kd::model::BertConfig::uniform(kV, kH, kL, kA, kF);
  cfg.max_position_embeddings = kT;
  kd::model::BertForPreTraining model(cfg);
  model->init_weights(1);
  model->set_compute_dtype(bf16 ? torch::kBFloat16 : torch::kFloat);
  model->train();
  kd::train::NamedTensors params;
  for (auto& kv : model->named_parameters()) params.emplace_back(kv.key(), kv.value());
  kd::train::Optimizer opt(params, {});
  auto ids = torch::randint(1000, kV, {b, kT}, torch::kLong);
  auto types = torch::zeros({b, kT}, torch::kLong);
  auto mask = torch::ones({b, kT}, torch::kLong);
  auto positions = (torch::arange(b).unsqueeze(1) * kT + torch::arange(1, 1 + kP) * 5).reshape(-1);
  auto targets = torch::randint(1000, kV, {b * kP}, torch::kLong);
  auto nsp = torch::randint(0, 2, {b}, torch::kLong);
  kd::model::ForwardOptions fo;
  fo.mlm_positions = positions;
  auto step = [&] {
    auto out = model->forward(ids, types, mask, fo);
    auto loss = torch::nn::functional::cross_entropy(out.mlm_logits, targets) +
                torch::nn::functional::cross_entropy(out.nsp_logits, nsp);
    loss.backward();
    kd::train::clip_grad_norm(params, 1.0);
    opt.step(1e-4);
    opt.zero_grad();
  };
  step();  // warm-up (allocations, oneDNN kernel selection)
  for (auto _ : state) step();
  const double peak = matmul_gflops(bf16 ? torch::kBFloat16 : torch::kFloat);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(b * kT * state.iterations()),
                                                  benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(step_flops(b) * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["peak_GFLOP/s"] = peak;
  state.SetLabel(bf16 ? "bf16" : "fp32");
}

BENCHMARK(BM_Matmul1024)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainStep)->Args({0, 16})->Args({1, 16})->Unit(benchmark::kMillisecond)->MinTime(5.0);

}  // namespace

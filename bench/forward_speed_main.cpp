// Inference speed of model directories side by side: `forward_speed [--batch B] [--seq T]
// [--precision fp32|bf16] [--reps N] DIR...` runs two forwards (eval mode, no grad) of every
// model on the same random batch: the full one with the MLM logits at every position and NSP
// (fill-mask's cost, dominated by the [T, H] x [H, V] decoder when V >> H) and the encoder alone
// (what a downstream fine-tuned model pays). The models are interleaved in each repetition so
// that machine noise hits all of them alike; it prints the median ms per batch and the speed-up
// of each model over the first. Used for schuBERT's pruned vs original models
// (bench/schubert_compare.sh).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "model/model_dir.h"

int run(int argc, char** argv) {
  int64_t batch = 32, seq = 64, reps = 20;
  std::string precision = "fp32";
  std::vector<std::string> dirs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--batch")
      batch = std::stoll(next());
    else if (a == "--seq")
      seq = std::stoll(next());
    else if (a == "--reps")
      reps = std::stoll(next());
    else if (a == "--precision")
      precision = next();
    else
      dirs.push_back(a);
  }
  if (dirs.empty()) {
    std::fprintf(
        stderr,
        "usage: forward_speed [--batch B] [--seq T] [--precision fp32|bf16] [--reps N] DIR...\n");
    return 2;
  }
  torch::NoGradGuard no_grad;
  std::vector<kd::model::BertForPreTraining> models;
  for (const auto& d : dirs) {
    models.push_back(kd::model::load_model_dir(d));
    if (precision == "bf16") models.back()->set_compute_dtype(torch::kBFloat16);
  }
  const int64_t vocab = models[0]->config().vocab_size;
  auto ids = torch::randint(1000, vocab, {batch, seq}, torch::kLong);
  auto types = torch::zeros({batch, seq}, torch::kLong);
  auto mask = torch::ones({batch, seq}, torch::kLong);
  kd::model::ForwardOptions encoder_only;
  encoder_only.compute_mlm = false;
  encoder_only.compute_nsp = false;
  auto timed = [&](kd::model::BertForPreTraining& m, const kd::model::ForwardOptions& opt) {
    auto t0 = std::chrono::steady_clock::now();
    auto out = m->forward(ids, types, mask, opt);
    (opt.compute_mlm ? out.mlm_logits : out.sequence_output).sum().item<double>();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<std::vector<double>> full(models.size()), enc(models.size());
  for (int64_t r = 0; r < reps + 2; ++r)
    for (size_t m = 0; m < models.size(); ++m) {
      double f = timed(models[m], {}), e = timed(models[m], encoder_only);
      if (r >= 2) {  // 2 warm-up repetitions
        full[m].push_back(f);
        enc[m].push_back(e);
      }
    }
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  std::printf("%-50s %11s %9s %8s %9s %8s\n", "model", "parameters", "full ms", "speed-up",
              "encoder", "speed-up");
  const double base_full = median(full[0]), base_enc = median(enc[0]);
  for (size_t m = 0; m < models.size(); ++m) {
    const double f = median(full[m]), e = median(enc[m]);
    std::printf("%-50s %11lld %9.2f %7.2fx %9.2f %7.2fx\n", dirs[m].c_str(),
                static_cast<long long>(models[m]->config().num_parameters()), f, base_full / f, e,
                base_enc / e);
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "forward_speed: %s\n", e.what());
    return 1;
  }
}

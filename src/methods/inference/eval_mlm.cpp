#include "methods/inference/eval_mlm.h"
#include "methods/inference/inference_commands.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/check.h"
#include "common/file_io.h"
#include "common/log.h"
#include "data/batch_builder.h"
#include "data/file_globs.h"
#include "data/shard_format.h"
#include "model/model_dir.h"

namespace kd::methods {

double MlmEvalResult::perplexity() const {
  return masked ? std::exp(mean_loss()) : 0.0;
}

MlmEvalResult evaluate_mlm(model::BertForPreTraining& model, const std::vector<std::string>& globs,
                           int64_t batch_size, int64_t max_batches, dist::Communicator& comm) {
  KD_CHECK(batch_size >= 1, "eval batch size must be >= 1 (got {})", batch_size);
  // Every row once: the rows of all files, concatenated, are cut into one contiguous range per
  // rank; the last batch of a range may be short (no drop-last in evaluation).
  const auto files = data::expand_globs(globs);
  std::vector<std::unique_ptr<data::ShardReader>> readers;
  std::vector<int64_t> first_row{0};  // global index of each file's first row
  for (const auto& f : files) {
    readers.push_back(std::make_unique<data::ShardReader>(f));
    KD_CHECK(readers.back()->seq_len() == readers.front()->seq_len() &&
                 readers.back()->max_predictions() == readers.front()->max_predictions(),
             "held-out shards disagree: '{}' has T={} P={}, '{}' has T={} P={}", f,
             readers.back()->seq_len(), readers.back()->max_predictions(), files.front(),
             readers.front()->seq_len(), readers.front()->max_predictions());
    first_row.push_back(first_row.back() + readers.back()->size());
  }
  const int64_t total = first_row.back();
  const int T = readers.front()->seq_len(), P = readers.front()->max_predictions();
  KD_CHECK_HINT(T <= model->config().max_position_embeddings,
                "evaluate on shards made with --max-seq-length <= the model's positions",
                "held-out shards have sequences of {} tokens but the model takes at most {}", T,
                model->config().max_position_embeddings);
  const int64_t begin = total * comm.rank() / comm.size();
  const int64_t end = total * (comm.rank() + 1) / comm.size();

  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  const auto device = model->parameters().front().device();
  double sums[4] = {0, 0, 0, 0};  // rows, masked, correct, loss
  int64_t done = 0;
  for (int64_t g = begin; g < end && (max_batches == 0 || done < max_batches); ++done) {
    const int64_t n = std::min(batch_size, end - g);
    data::BatchBuilder builder(n, T, P, /*trim_padding=*/true);
    while (builder.rows() < n) {
      const size_t f = static_cast<size_t>(std::upper_bound(first_row.begin(), first_row.end(), g) -
                                           first_row.begin() - 1);
      const int64_t k = std::min(n - builder.rows(), first_row[f + 1] - g);
      auto block = readers[f]->read(g - first_row[f], k);
      for (int64_t i = 0; i < k; ++i) builder.add(block, i, files[f], g - first_row[f] + i);
      g += k;
    }
    auto b = builder.take();
    auto labels = b.mlm_labels.reshape(-1);
    auto pos = (labels != -100).nonzero().reshape(-1);
    auto x = labels.index_select(0, pos).to(device);
    model::ForwardOptions o;
    o.mlm_positions = pos.to(device);
    o.compute_nsp = false;
    auto out = model->forward(b.input_ids.to(device), b.token_type_ids.to(device),
                              b.attention_mask.to(device), o);
    auto logp = torch::log_softmax(out.mlm_logits, -1);
    sums[0] += n;
    sums[1] += x.numel();
    sums[2] += (out.mlm_logits.argmax(-1) == x).sum().item<double>();
    sums[3] += -logp.gather(1, x.view({-1, 1})).sum().item<double>();
  }
  if (was_training) model->train();
  MlmEvalResult r;
  r.instances = static_cast<int64_t>(comm.allreduce_scalar(sums[0], dist::ReduceOp::Sum));
  r.masked = static_cast<int64_t>(comm.allreduce_scalar(sums[1], dist::ReduceOp::Sum));
  r.correct = static_cast<int64_t>(comm.allreduce_scalar(sums[2], dist::ReduceOp::Sum));
  r.loss_sum = comm.allreduce_scalar(sums[3], dist::ReduceOp::Sum);
  r.total_instances = total;
  return r;
}

int run_eval_mlm(const EvalMlmArgs& args, std::shared_ptr<dist::Communicator> comm) {
  KD_CHECK(args.precision == "fp32" || args.precision == "bf16",
           "--precision must be fp32 or bf16 (got '{}')", args.precision);
  auto model = model::load_model_dir(args.model);
  if (args.precision == "bf16") model->set_compute_dtype(torch::kBFloat16);
  auto r = evaluate_mlm(model, args.data, args.batch_size, args.max_batches, *comm);
  if (comm->is_root()) {
    std::printf(
        "eval-mlm  %s\n"
        "  instances   %lld of %lld (%d ranks, batches of %lld per rank%s)\n"
        "  masked      %lld positions\n"
        "  accuracy    %.4f\n"
        "  loss        %.4f\n"
        "  perplexity  %.2f\n",
        args.model.c_str(), (long long)r.instances, (long long)r.total_instances, comm->size(),
        (long long)args.batch_size,
        r.instances < r.total_instances ? "; --max-batches left the rest out" : "",
        (long long)r.masked, r.accuracy(), r.mean_loss(), r.perplexity());
    if (!args.json.empty()) {
      nlohmann::json j = {{"model", args.model},
                          {"instances", r.instances},
                          {"total_instances", r.total_instances},
                          {"masked", r.masked},
                          {"accuracy", r.accuracy()},
                          {"loss", r.mean_loss()},
                          {"perplexity", r.perplexity()},
                          {"ranks", comm->size()}};
      write_file_atomic(args.json, j.dump(1) + "\n");
    }
  }
  return 0;
}

namespace {
cli::Runner add_eval_mlm(CLI::App& sub) {
  auto a = std::make_shared<EvalMlmArgs>();
  sub.add_option("--model", a->model, "model directory")->required()->check(CLI::ExistingDirectory);
  sub.add_option("--data", a->data, "held-out HDF5 shard globs")->required()->take_all();
  sub.add_option("--batch-size", a->batch_size, "rows per batch and rank")->capture_default_str();
  sub.add_option("--max-batches", a->max_batches, "per rank; 0 = all")->capture_default_str();
  sub.add_option("--precision", a->precision, "fp32 | bf16")->capture_default_str();
  sub.add_option("--json", a->json, "also write the result as JSON to this file");
  return inference_command(a, run_eval_mlm);
}
}  // namespace

KD_COMMAND("kdprune", "eval-mlm",
           "masked-token accuracy and perplexity on held-out shards (MPI ranks share them)",
           add_eval_mlm);

}  // namespace kd::methods

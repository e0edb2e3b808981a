#include "methods/inference/eval_mlm.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

#include "common/check.h"
#include "common/file_io.h"
#include "common/log.h"
#include "data/pretrain_loader.h"
#include "model/model_dir.h"

namespace kd::methods {

double MlmEvalResult::perplexity() const {
  return masked ? std::exp(mean_loss()) : 0.0;
}

MlmEvalResult evaluate_mlm(model::BertForPreTraining& model, const std::vector<std::string>& globs,
                           int64_t batch_size, int64_t max_batches, dist::Communicator& comm) {
  KD_CHECK(batch_size >= 1, "eval batch size must be >= 1 (got {})", batch_size);
  data::LoaderOptions lo;
  lo.files = data::expand_globs(globs);
  lo.batch_size = batch_size;
  lo.shuffle = false;
  lo.max_epochs = 1;
  lo.prefetch = 2;
  data::PretrainLoader loader(lo, comm.rank(), comm.size());
  KD_CHECK_HINT(loader.batches_per_epoch() > 0, "lower the eval batch size",
                "held-out data ({} rows over {} ranks) is smaller than one batch of {} per rank",
                loader.total_instances(), comm.size(), batch_size);
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  const auto device = model->parameters().front().device();
  double sums[4] = {0, 0, 0, 0};  // rows, masked, correct, loss
  int64_t done = 0;
  while (auto b = loader.next()) {
    if (max_batches > 0 && done >= max_batches) break;
    auto labels = b->mlm_labels.reshape(-1);
    auto pos = (labels != -100).nonzero().reshape(-1);
    auto x = labels.index_select(0, pos).to(device);
    model::ForwardOptions o;
    o.mlm_positions = pos.to(device);
    o.compute_nsp = false;
    auto out = model->forward(b->input_ids.to(device), b->token_type_ids.to(device),
                              b->attention_mask.to(device), o);
    auto logp = torch::log_softmax(out.mlm_logits, -1);
    sums[0] += b->input_ids.size(0);
    sums[1] += x.numel();
    sums[2] += (out.mlm_logits.argmax(-1) == x).sum().item<double>();
    sums[3] += -logp.gather(1, x.view({-1, 1})).sum().item<double>();
    ++done;
  }
  if (was_training) model->train();
  MlmEvalResult r;
  r.instances = static_cast<int64_t>(comm.allreduce_scalar(sums[0], dist::ReduceOp::Sum));
  r.masked = static_cast<int64_t>(comm.allreduce_scalar(sums[1], dist::ReduceOp::Sum));
  r.correct = static_cast<int64_t>(comm.allreduce_scalar(sums[2], dist::ReduceOp::Sum));
  r.loss_sum = comm.allreduce_scalar(sums[3], dist::ReduceOp::Sum);
  r.total_instances = loader.total_instances();
  return r;
}

int run_eval_mlm(const EvalMlmArgs& args) {
  dist::CommOptions co;
  auto comm = dist::make_world_communicator(co);
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
        r.instances < r.total_instances ? "; the rest do not fill a batch or exceed --max-batches"
                                        : "",
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

}  // namespace kd::methods

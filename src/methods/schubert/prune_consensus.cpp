#include "methods/schubert/prune_consensus.h"

#include "common/check.h"

namespace kd::methods::schubert {
namespace {

void fnv1a(uint64_t& h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
}

}  // namespace

PruneDecision agree_on_decision(dist::Communicator& comm, const model::BertConfig& cfg,
                                const PruningVectors& alpha, const std::string& variant,
                                int64_t target_params) {
  PruningVectors scores = alpha.abs_detached();
  for (auto& [name, t] : scores.named()) {
    auto cpu = t.to(torch::kCPU).contiguous();
    comm.allreduce_host(cpu, dist::ReduceOp::Sum);
    t.copy_(cpu / comm.size());
  }
  std::string planned;
  if (comm.is_root()) planned = plan_prune(cfg, scores, variant, target_params).to_json().dump();
  planned = comm.broadcast_string(planned, 0);
  return PruneDecision::from_json(nlohmann::json::parse(planned), "broadcast prune decision");
}

uint64_t model_checksum(model::BertForPreTraining& model) {
  uint64_t h = 1469598103934665603ull;
  for (const auto& p : model->named_parameters()) {
    fnv1a(h, p.key().data(), p.key().size());
    for (int64_t s : p.value().sizes()) fnv1a(h, &s, sizeof s);
    auto t = p.value().detach().to(torch::kCPU, torch::kFloat).contiguous();
    fnv1a(h, t.data_ptr<float>(), static_cast<size_t>(t.numel()) * sizeof(float));
  }
  return h;
}

void verify_same_model(dist::Communicator& comm, model::BertForPreTraining& model,
                       const std::string& what) {
  const uint64_t mine = model_checksum(model);
  // Two exact halves: a double holds 32 bits without rounding.
  const double hi = static_cast<double>(mine >> 32), lo = static_cast<double>(mine & 0xffffffffu);
  const bool same = comm.allreduce_scalar(hi, dist::ReduceOp::Min) ==
                        comm.allreduce_scalar(hi, dist::ReduceOp::Max) &&
                    comm.allreduce_scalar(lo, dist::ReduceOp::Min) ==
                        comm.allreduce_scalar(lo, dist::ReduceOp::Max);
  if (same) return;
  auto all = comm.gather_strings(fmt::format("{:016x}", mine), 0);
  std::string listing;
  if (comm.is_root())
    for (size_t r = 0; r < all.size(); ++r)
      listing += fmt::format("\n  rank {}: {}{}", r, all[r],
                             all[r] == all[0] ? "" : "  <- differs from rank 0");
  listing = comm.broadcast_string(listing, 0);
  KD_FAIL("{}: the model differs between ranks after the prune step (shape + weight checksums):{}",
          what, listing);
}

}  // namespace kd::methods::schubert

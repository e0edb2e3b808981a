// schuBERT's coordinated prune step on 2 real MPI ranks:
//   - each rank holds slightly different α (as if its local view drifted); agree_on_decision
//     gives every rank the same decision, equal to the plan on the mean |α| computed here;
//   - after applying it every rank has the same model (checksum verified), while a model
//     changed on rank 1 only is refused on every rank with a message naming rank 1.
#include <gtest/gtest.h>

#include "common/check.h"
#include "dist/communicator.h"
#include "methods/schubert/prune_consensus.h"

namespace kd::methods::schubert {
namespace {

std::shared_ptr<dist::Communicator> world() {
  static auto comm = dist::make_world_communicator({"mpi", "cpu"});
  return comm;
}

model::BertConfig config() {
  auto c = model::BertConfig::uniform(40, 16, 2, 4, 32);
  c.max_position_embeddings = 8;
  return c;
}

// α of rank r: a shared draw plus a rank-specific perturbation.
PruningVectors alpha_of_rank(int r) {
  PruningVectors a(config(), variant_dims("all"));
  auto shared = at::detail::createCPUGenerator(11);
  auto own = at::detail::createCPUGenerator(100 + r);
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : a.named())
    t.copy_(torch::rand(t.sizes(), shared) + 0.05 * torch::randn(t.sizes(), own));
  return a;
}

TEST(SchubertConsensus, EveryRankGetsThePlanOfTheMeanScores) {
  auto comm = world();
  ASSERT_EQ(comm->size(), 2);
  const auto cfg = config();
  const int64_t target = cfg.num_parameters() * 3 / 4;
  auto mine = alpha_of_rank(comm->rank());
  auto decision = agree_on_decision(*comm, cfg, mine, "all", target);

  auto all = comm->gather_strings(decision.to_json().dump(), 0);
  if (comm->is_root()) EXPECT_EQ(all[0], all[1]);
  // The mean |α| over both ranks, computed locally from both draws.
  auto a0 = alpha_of_rank(0).abs_detached(), a1 = alpha_of_rank(1).abs_detached();
  auto mean = a0;
  auto n1 = a1.named();
  auto nm = mean.named();
  for (size_t i = 0; i < nm.size(); ++i) nm[i].second.add_(n1[i].second).div_(2);
  EXPECT_EQ(decision.to_json(), plan_prune(cfg, mean, "all", target).to_json());
  // Rank 1's own scores alone would plan differently (so the all-reduce matters).
  EXPECT_NE(plan_prune(cfg, a0, "all", target).to_json(),
            plan_prune(cfg, a1, "all", target).to_json());
}

TEST(SchubertConsensus, AppliedDecisionGivesTheSameModelOnEveryRank) {
  auto comm = world();
  const auto cfg = config();
  model::BertForPreTraining m(cfg);
  m->init_weights(5);
  auto alpha = alpha_of_rank(0);  // identical on both ranks, as the gradient all-reduce keeps it
  alpha.attach(m);
  auto decision = agree_on_decision(*comm, cfg, alpha, "all", cfg.num_parameters() * 3 / 4);
  apply_decision(m, decision, &alpha);
  EXPECT_NO_THROW(verify_same_model(*comm, m, "test"));

  if (comm->rank() == 1) {
    torch::NoGradGuard no_grad;
    m->layer(0)->ffn_out->weight.index_put_({0, 0}, 0.123f);
  }
  try {
    verify_same_model(*comm, m, "round 1");
    FAIL() << "a model that differs on rank 1 was accepted";
  } catch (const kd::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("round 1"), std::string::npos) << what;
    EXPECT_NE(what.find("rank 1:"), std::string::npos) << what;
    EXPECT_NE(what.find("differs from rank 0"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace kd::methods::schubert

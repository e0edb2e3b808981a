// Tutor-KD data parallelism: 2 ranks with B rows each (GradReducer over student, tutor and
// heads) reach the same parameters as 1 process with the 2B rows, after 3 AdamW steps.
// The tutor is greedy (argmax) and the REINFORCE baseline off, so that the pseudo sample and the
// reward normalisation do not depend on how rows are split; every row has the same number of
// masked and real tokens, so per-rank means average to the whole-batch mean.
// Tolerances: step 1's reduced gradients before clipping within 1e-5 absolute + 1e-3 relative of
// the single-process ones; 5e-5 absolute on every parameter after 3 steps (fp32; only the
// summation order differs).
#include <gtest/gtest.h>

#include "dist/communicator.h"
#include "dist/grad_reducer.h"
#include "dist/local_communicator.h"
#include "methods/distill/distiller.h"
#include "support/distill_fixtures.h"
#include "train/optimizer.h"

namespace kd::methods::distill {
namespace {

data::PretrainBatch rows(const data::PretrainBatch& b, int64_t begin, int64_t count) {
  data::PretrainBatch r;
  r.input_ids = b.input_ids.narrow(0, begin, count);
  r.token_type_ids = b.token_type_ids.narrow(0, begin, count);
  r.attention_mask = b.attention_mask.narrow(0, begin, count);
  r.mlm_labels = b.mlm_labels.narrow(0, begin, count);
  r.nsp_labels = b.nsp_labels.narrow(0, begin, count);
  return r;
}

std::vector<torch::Tensor> train(std::shared_ptr<dist::Communicator> comm,
                                 const std::string& method, const std::string& ratio, int steps = 3,
                                 std::vector<torch::Tensor>* first_grads = nullptr) {
  torch::manual_seed(5);  // heads use torch's default init: same on every rank and reference
  model::BertForPreTraining teacher(test::tiny_bert(16, 2));
  teacher->init_weights(3);
  model::BertForPreTraining student(test::tiny_bert(8, 1));
  student->init_weights(4);
  DistillConfig c;
  c.distill.method = method;
  c.distill.student_ratio = ratio;
  c.tutor.greedy = true;
  c.tutor.mean_baseline = false;
  c.weights.mlm = 1;
  Distiller d(c, teacher, student);
  auto params = d.trainable_parameters();
  std::vector<torch::Tensor> tensors;
  for (auto& [n, p] : params) tensors.push_back(p);
  dist::broadcast_tensors(*comm, tensors, 0);
  dist::GradReducer reducer(comm, tensors, {0.05, 0.01});  // several buckets
  train::OptimizerConfig oc;
  oc.lr = 1e-3;
  train::Optimizer opt(params, oc);
  const auto full = test::masked_batch(8, 8, 9);
  const int64_t per_rank = 8 / comm->size();
  for (int s = 0; s < steps; ++s) {
    reducer.prepare(true);
    d.step(rows(full, comm->rank() * per_rank, per_rank)).loss.backward();
    reducer.finish();
    if (first_grads && s == 0)
      for (auto& t : tensors)
        first_grads->push_back(t.grad().defined() ? t.grad().detach().clone()
                                                  : torch::zeros_like(t));
    train::clip_grad_norm(params, 1.0);
    opt.step(oc.lr);
    opt.zero_grad();
  }
  std::vector<torch::Tensor> out;
  for (auto& t : tensors) out.push_back(t.detach().clone());
  return out;
}

class DistillEquivalence : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(DistillEquivalence, TwoRanksMatchOneRankWithDoubleBatch) {
  auto [method, ratio] = GetParam();
  static auto comm = dist::make_world_communicator({"mpi", "cpu"});
  ASSERT_EQ(comm->size(), 2);
  std::vector<torch::Tensor> grads, ref_grads;  // step 1's, reduced, before clipping
  auto distributed = train(comm, method, ratio, 3, &grads);
  auto reference = train(std::make_shared<dist::LocalCommunicator>(), method, ratio, 3, &ref_grads);
  ASSERT_EQ(distributed.size(), reference.size());
  ASSERT_EQ(grads.size(), ref_grads.size());
  // Before clipping and AdamW, which would hide a constant factor (a sum instead of a mean).
  for (size_t i = 0; i < grads.size(); ++i)
    EXPECT_TRUE(torch::allclose(grads[i], ref_grads[i], 1e-3, 1e-5))
        << method << " " << ratio << ": reduced gradient " << i << " max |diff| "
        << (grads[i] - ref_grads[i]).abs().max().item<double>();
  double worst = 0;
  for (size_t i = 0; i < distributed.size(); ++i)
    worst = std::max(worst, (distributed[i] - reference[i]).abs().max().item<double>());
  EXPECT_LT(worst, 5e-5) << method << " " << ratio;
  // Not vacuous: training moved the parameters well beyond the tolerance.
  auto init = train(std::make_shared<dist::LocalCommunicator>(), method, ratio, 0);
  double moved = 0;
  for (size_t i = 0; i < init.size(); ++i)
    moved = std::max(moved, (distributed[i] - init[i]).abs().max().item<double>());
  EXPECT_GT(moved, 1e-3);
  dist::check_tensors_identical(*comm, distributed, "distilled parameters");
}

INSTANTIATE_TEST_SUITE_P(Methods, DistillEquivalence,
                         ::testing::Values(std::make_pair("tutor_kd", "head"),
                                           std::make_pair("tutor_kd", "probs"),
                                           std::make_pair("kd", "head")));

}  // namespace
}  // namespace kd::methods::distill

// GPU-only paths (ctest label `cuda`): run by scripts/gpu-check.sh on a GPU host, skipped (ctest
// reports them as skipped) where LibTorch has no CUDA or the build has no NCCL, as here.
// One process, MPI initialised as a singleton (tests/support/mpi_main.cpp): NCCL in a world of
// one, the gradient reducer on CUDA tensors, the watch of NCCL's collectives, the loader's
// pinned batches.
#include <gtest/gtest.h>

#include "data/pretrain_loader.h"
#include "data/shard_test_util.h"
#include "dist/collective_watchdog.h"
#include "dist/communicator.h"
#include "dist/grad_reducer.h"
#include "support/test_support.h"

namespace kd::dist {
namespace {

bool have_cuda_and_nccl() {
  return torch::cuda::is_available() && nccl_available();
}

std::shared_ptr<Communicator> nccl_world() {
  static auto comm = make_world_communicator({"nccl", "cuda"});
  return comm;
}

TEST(Cuda, NcclWorldOfOneReducesAndBroadcastsDeviceTensorsAndRefusesHostOnes) {
  if (!have_cuda_and_nccl()) GTEST_SKIP() << "no CUDA device or no NCCL in this build";
  auto comm = nccl_world();
  ASSERT_EQ(comm->backend(), "nccl");
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  for (auto dtype : {torch::kFloat, torch::kBFloat16, torch::kDouble, torch::kLong}) {
    auto t = torch::arange(1000, cuda.dtype(dtype));
    auto expect = t.clone();
    comm->allreduce_async(t, ReduceOp::Sum)->wait();  // ordered on the default stream
    EXPECT_TRUE(torch::equal(t.cpu(), expect.cpu())) << c10::toString(dtype);
    comm->broadcast(t, 0);
    EXPECT_TRUE(torch::equal(t.cpu(), expect.cpu()));
  }
  auto host = torch::ones({4});
  EXPECT_THROW(comm->allreduce(host), std::exception);
  auto values = torch::tensor({2.5, 3.0}, torch::kFloat64);
  comm->allreduce_host(values);  // the control plane takes host tensors
  EXPECT_EQ(values[0].item<double>(), 2.5);
  comm->barrier();
  // Every watched launch has finished after the barrier: nothing for the watchdog to report.
  EXPECT_EQ(run_watchdog_checks({1, 1}), "");
}

TEST(Cuda, GradReducerLeavesDeviceGradientsAsViewsOfItsBuckets) {
  if (!have_cuda_and_nccl()) GTEST_SKIP() << "no CUDA device or no NCCL in this build";
  torch::manual_seed(3);
  torch::nn::Linear a(64, 32), b(32, 8);
  a->to(torch::kCUDA);
  b->to(torch::kCUDA);
  std::vector<torch::Tensor> params;
  for (auto& p : a->parameters()) params.push_back(p);
  for (auto& p : b->parameters()) params.push_back(p);
  auto x = torch::randn({16, 64}, torch::kCUDA);
  auto loss = b(torch::relu(a(x))).pow(2).mean();
  auto expect = torch::autograd::grad({loss}, params, {}, /*retain_graph=*/true);

  GradReducerOptions options;
  options.first_bucket_mb = 0.001;  // several buckets
  GradReducer reducer(nccl_world(), params, options);
  EXPECT_GT(reducer.num_buckets(), 1u);
  reducer.prepare(true);
  loss.backward();
  reducer.finish();
  for (size_t i = 0; i < params.size(); ++i) {
    ASSERT_TRUE(params[i].grad().is_cuda());
    EXPECT_TRUE(torch::allclose(params[i].grad(), expect[i], 1e-6, 1e-6)) << i;
  }
}

TEST(Cuda, SeedingGivesTheSameDeviceDrawsAfterAResume) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  // Trainer seeds every micro-step from (seed, step, slot) with torch::manual_seed, which seeds
  // the CUDA generators too: a resumed run draws the same dropout masks without saving them.
  torch::manual_seed(1234);
  auto first = torch::rand({1000}, torch::kCUDA);
  torch::rand({77}, torch::kCUDA);
  torch::manual_seed(1234);
  EXPECT_TRUE(torch::equal(first.cpu(), torch::rand({1000}, torch::kCUDA).cpu()));
}

// The loader pins batches on its prefetch thread when asked (device: cuda): the batches are the
// unpinned loader's, in page-locked memory, and their non-blocking copies to the GPU arrive intact.
TEST(Cuda, LoaderPinsBatchesOnThePrefetchThread) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const auto dir = test::temp_dir("cuda_pinned_loader");
  std::vector<std::string> files;
  for (int i = 0; i < 2; ++i) {
    files.push_back(dir + "/shard_" + std::to_string(i) + ".hdf5");
    test::write_shard(files.back(), 40 * i, 40, 16, 4);
  }
  data::LoaderOptions o;
  o.files = files;
  o.batch_size = 4;
  o.seed = 7;
  o.prefetch = 3;
  data::PretrainLoader pageable(o, 0, 1);
  o.pin_memory = true;
  data::PretrainLoader pinned(o, 0, 1);
  for (int step = 0; step < 25; ++step) {  // past the first epoch (20 batches)
    auto a = pageable.next();
    auto b = pinned.next();
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(a->input_ids.is_pinned());
    for (const auto* t :
         {&b->input_ids, &b->token_type_ids, &b->attention_mask, &b->mlm_labels, &b->nsp_labels})
      EXPECT_TRUE(t->is_pinned()) << "step " << step;
    data::move_batch_to(*b, torch::kCUDA);
    EXPECT_TRUE(b->input_ids.is_cuda());
    EXPECT_TRUE(torch::equal(a->input_ids, b->input_ids.cpu())) << "step " << step;
    EXPECT_TRUE(torch::equal(a->mlm_labels, b->mlm_labels.cpu())) << "step " << step;
    EXPECT_TRUE(torch::equal(a->nsp_labels, b->nsp_labels.cpu())) << "step " << step;
  }
}

}  // namespace
}  // namespace kd::dist

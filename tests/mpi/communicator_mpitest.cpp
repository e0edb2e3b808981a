// Collectives of the MPI communicator on 2 real ranks (run under mpirun -np 2 by ctest).
#include <gtest/gtest.h>

#include "dist/communicator.h"
#include "dist/data_plane_check.h"

namespace kd::dist {
namespace {

std::shared_ptr<Communicator> world() {
  static auto comm = make_world_communicator({"mpi", "cpu"});
  return comm;
}

TEST(MpiCommunicator, AllreduceSumMinMax) {
  auto comm = world();
  ASSERT_EQ(comm->size(), 2);
  auto t = torch::full({5}, static_cast<float>(comm->rank() + 1));
  comm->allreduce(t, ReduceOp::Sum);
  EXPECT_TRUE(torch::equal(t, torch::full({5}, 3.0f)));
  auto m = torch::tensor({static_cast<int64_t>(comm->rank())});
  comm->allreduce(m, ReduceOp::Max);
  EXPECT_EQ(m.item<int64_t>(), 1);
  EXPECT_DOUBLE_EQ(comm->allreduce_scalar(comm->rank() + 0.5, ReduceOp::Min), 0.5);
}

TEST(MpiCommunicator, AsyncAllreduceCompletes) {
  auto comm = world();
  auto t = torch::arange(1000, torch::kFloat) * (comm->rank() + 1);
  auto work = comm->allreduce_async(t, ReduceOp::Sum);
  work->wait();
  EXPECT_TRUE(work->test());
  EXPECT_TRUE(torch::allclose(t, torch::arange(1000, torch::kFloat) * 3));
}

TEST(MpiCommunicator, BroadcastAndStrings) {
  auto comm = world();
  auto t = torch::full({3}, static_cast<float>(comm->rank() * 10 + 7));
  comm->broadcast(t, 1);
  EXPECT_TRUE(torch::equal(t, torch::full({3}, 17.0f)));
  EXPECT_EQ(comm->broadcast_string(comm->rank() == 0 ? "hello" : "", 0), "hello");
  auto all = comm->gather_strings("r" + std::to_string(comm->rank()), 0);
  if (comm->rank() == 0) {
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0], "r0");
    EXPECT_EQ(all[1], "r1");
  } else {
    EXPECT_TRUE(all.empty());
  }
}

TEST(MpiCommunicator, SplitFormsSubgroups) {
  auto comm = world();
  auto alone = comm->split(/*color=*/comm->rank(), 0);  // one group per rank
  EXPECT_EQ(alone->size(), 1);
  EXPECT_EQ(alone->rank(), 0);
  auto t = torch::ones({2});
  alone->allreduce(t, ReduceOp::Sum);
  EXPECT_TRUE(torch::equal(t, torch::ones({2})));
  auto both = comm->split(0, /*key=*/-comm->rank());  // reversed order
  EXPECT_EQ(both->size(), 2);
  EXPECT_EQ(both->rank(), 1 - comm->rank());
}

TEST(MpiCommunicator, RejectsNonContiguousTensor) {
  auto comm = world();
  auto t = torch::ones({4, 4}).t();
  EXPECT_THROW(comm->allreduce(t, ReduceOp::Sum), std::exception);
}

TEST(MpiCommunicator, AllreduceHostKeepsDtypeAndValues) {
  auto comm = world();
  auto d = torch::tensor({0.25, 1e15}, torch::kFloat64) * (comm->rank() + 1);
  comm->allreduce_host(d);
  EXPECT_TRUE(torch::equal(d, torch::tensor({0.75, 3e15}, torch::kFloat64)));
  auto big = torch::tensor({(int64_t{1} << 51) + comm->rank()}, torch::kInt64);
  comm->allreduce_host(big);  // exact: the sum is below 2^53
  EXPECT_EQ(big.item<int64_t>(), (int64_t{1} << 52) + 1);
  auto f = torch::full({2, 3}, static_cast<float>(comm->rank()) - 0.5f);
  comm->allreduce_host(f, ReduceOp::Max);
  EXPECT_EQ(f.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(f, torch::full({2, 3}, 0.5f)));
  auto strided = torch::ones({4, 4}).t();
  EXPECT_THROW(comm->allreduce_host(strided), std::exception);
}

// The check the end-to-end tests run under (KD_CHECK_DATA_PLANE=1): a host tensor on the data
// plane is refused on every rank before anything is sent (so no rank waits for another), unless
// it is a model tensor; the control plane and split groups are checked alike.
TEST(DataPlaneCheck, RefusesHostTensorsOutsideAModelTensorScope) {
  auto checked = with_data_plane_check(world());
  auto t = torch::ones({3});
  try {
    checked->allreduce(t);
    ADD_FAILURE() << "a host tensor passed the data-plane check";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("allreduce_host"), std::string::npos) << e.what();
  }
  EXPECT_THROW(checked->allreduce_async(t), std::exception);
  EXPECT_THROW(checked->broadcast(t, 0), std::exception);
  auto pair = checked->split(0, checked->rank());
  ASSERT_NE(pair, nullptr);
  EXPECT_THROW(pair->allreduce(t), std::exception);
  EXPECT_EQ(checked->split(-1, 0), nullptr);
  {
    ModelTensorScope model_tensors;
    checked->allreduce(t);
    pair->allreduce_async(t)->wait();
  }
  EXPECT_TRUE(torch::equal(t, torch::full({3}, 4.0f)));
  EXPECT_FALSE(ModelTensorScope::active());
  auto host = torch::tensor({1.0 + checked->rank()}, torch::kFloat64);
  checked->allreduce_host(host);
  EXPECT_EQ(host.item<double>(), 3.0);
}

}  // namespace
}  // namespace kd::dist

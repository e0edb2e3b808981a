// Collectives of the MPI communicator on 2 real ranks (run under mpirun -np 2 by ctest).
#include <gtest/gtest.h>

#include "dist/communicator.h"

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

}  // namespace
}  // namespace kd::dist

// The communication thread's ring all-reduce (dist.comm_poll_us) against MPI_Allreduce, on any
// number of ranks (ctest runs it on 2 and on 3: chunks of unequal size, a ring longer than one
// exchange). Values are small integers, so every summation order gives the same exact result
// and the comparison can be bit for bit.
#include <gtest/gtest.h>

#include "dist/communicator.h"
#include "dist/mpi_communicator.h"
#include "dist/mpi_utils.h"
#include "dist/ring_allreduce.h"

namespace kd::dist {
namespace {

std::shared_ptr<Communicator> world() {
  static auto comm = make_world_communicator({"mpi", "cpu"});
  return comm;
}

torch::Tensor rank_values(int64_t count, torch::ScalarType type, int rank) {
  return (torch::arange(count, torch::kLong).remainder(7) + rank * 3).to(type);
}

TEST(RingAllreduce, MatchesMpiAllreduceForEveryCountAndType) {
  auto comm = world();
  MPI_Comm ring;
  ASSERT_EQ(MPI_Comm_dup(MPI_COMM_WORLD, &ring), MPI_SUCCESS);
  for (auto type : {torch::kFloat, torch::kBFloat16, torch::kLong}) {
    for (int64_t count : {0, 1, 2, 5, 1000, 100003}) {
      auto mine = rank_values(count, type, comm->rank());
      auto want = mine.clone();
      comm->allreduce(want, ReduceOp::Sum);
      ring_allreduce(mine.data_ptr(), count, mpi_dtype(type), mpi_op(ReduceOp::Sum, type), ring,
                     /*poll_us=*/50);
      EXPECT_TRUE(torch::equal(mine, want)) << c10::toString(type) << " count " << count;
      // Not vacuous: every rank contributed.
      if (count > 0) EXPECT_EQ(mine[0].item<double>(), 3.0 * comm->size() * (comm->size() - 1) / 2);
    }
  }
  // Max as well (any MPI operation).
  auto m = rank_values(11, torch::kLong, comm->rank());
  ring_allreduce(m.data_ptr(), 11, MPI_INT64_T, MPI_MAX, ring, 50);
  EXPECT_TRUE(torch::equal(m, rank_values(11, torch::kLong, comm->size() - 1)));
  MPI_Comm_free(&ring);
}

TEST(RingAllreduce, CommunicationThreadUsesItAndGetsTheBlockingResult) {
  world();
  MPI_Comm dup;
  ASSERT_EQ(MPI_Comm_dup(MPI_COMM_WORLD, &dup), MPI_SUCCESS);
  MpiCommunicator polled(dup, /*owns=*/true, false, /*comm_thread=*/true, /*poll_us=*/100);
  ASSERT_TRUE(polled.has_comm_thread());
  auto a = rank_values(4099, torch::kFloat, polled.rank());
  auto b = rank_values(4099, torch::kBFloat16, polled.rank());
  auto wa = polled.allreduce_async(a, ReduceOp::Sum);
  auto wb = polled.allreduce_async(b, ReduceOp::Sum);  // queued behind a: same order everywhere
  wa->wait();
  wb->wait();
  auto want = rank_values(4099, torch::kFloat, polled.rank());
  world()->allreduce(want, ReduceOp::Sum);
  EXPECT_TRUE(torch::equal(a, want));
  EXPECT_TRUE(torch::equal(b, want.to(torch::kBFloat16)));
}

TEST(HierarchicalAllreduce, MatchesFlatInlineAndOnTheThreadAndInSubgroups) {
  // On one host every rank shares one node (its first rank the only leader); across nodes the
  // cluster test runs the same binary with 2 ranks per node.
  world();
  for (int poll_us : {0, 100}) {
    MPI_Comm dup;
    ASSERT_EQ(MPI_Comm_dup(MPI_COMM_WORLD, &dup), MPI_SUCCESS);
    auto comm = std::make_shared<MpiCommunicator>(dup, /*owns=*/true, false,
                                                  /*comm_thread=*/poll_us > 0, poll_us,
                                                  /*hierarchical=*/true);
    ASSERT_FALSE(comm->topology().empty());
    for (auto type : {torch::kFloat, torch::kBFloat16, torch::kLong}) {
      for (int64_t count : {1, 5, 100003}) {
        auto want = rank_values(count, type, comm->rank());
        world()->allreduce(want, ReduceOp::Sum);
        auto inline_sum = rank_values(count, type, comm->rank());
        comm->allreduce(inline_sum, ReduceOp::Sum);
        EXPECT_TRUE(torch::equal(inline_sum, want)) << c10::toString(type) << " " << count;
        auto async_sum = rank_values(count, type, comm->rank());
        comm->allreduce_async(async_sum, ReduceOp::Sum)->wait();
        EXPECT_TRUE(torch::equal(async_sum, want)) << c10::toString(type) << " " << count;
      }
    }
    // A subgroup (a campaign stage, a relation group) is hierarchical as well.
    auto odd_even = comm->split(comm->rank() % 2, comm->rank());
    auto mine = rank_values(64, torch::kFloat, comm->rank());
    auto want = mine.clone();
    odd_even->allreduce(mine, ReduceOp::Sum);
    auto* sub = dynamic_cast<MpiCommunicator*>(odd_even.get());
    ASSERT_NE(sub, nullptr);
    if (odd_even->size() > 1) EXPECT_FALSE(sub->topology().empty());
    MPI_Allreduce(MPI_IN_PLACE, want.data_ptr(), 64, MPI_FLOAT, MPI_SUM, sub->comm());
    EXPECT_TRUE(torch::equal(mine, want));
  }
}

}  // namespace
}  // namespace kd::dist

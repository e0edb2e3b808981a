// GoogleTest main for multi-rank tests: MPI is initialised once for the whole process, and only
// rank 0 prints results (every rank still runs every test and fails on its own assertions).
#include <gtest/gtest.h>
#include <mpi.h>

#include "dist/collective_watchdog.h"

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int result = RUN_ALL_TESTS();
  // A failure on any rank fails the test for all (ctest sees mpirun's exit code).
  int worst = 0;
  MPI_Allreduce(&result, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  kd::dist::stop_watchdog();  // started by the tests' make_world_communicator
  MPI_Finalize();
  return worst;
}

// Why the communication thread polls a ring (dist.comm_poll_us) instead of spinning in
// MPI_Allreduce: on each rank a compute loop (memory-bound, as backward is) runs on the main
// thread while a second thread all-reduces S bytes, per way of all-reducing:
//   blocking  MPI_Allreduce (Open MPI progresses it by spinning)
//   iallreduce-polled  MPI_Iallreduce tested every poll_us, asleep in between
//   ring-polled        kdprune's ring_allreduce (non-blocking point-to-point), the same polling
// Prints, per way, the all-reduce alone, then both at once: the all-reduce's time and the
// compute loop's time against the loop alone. Run across nodes, e.g. (bench/scaling_nodes.sh's
// cluster): scripts/cluster-local.sh exec head mpirun -np 2 --hostfile H --map-by node
//   build/bench/mpi_overlap_bench [bytes=31250000] [loop_passes=20] [poll_us=200]
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "dist/ring_allreduce.h"

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

volatile float g_sink;
// y += 0.5 x over 64 MB arrays: memory-bound like backward's elementwise and copy work.
double compute(int passes) {
  static std::vector<float> x(16 << 20, 1.0f), y(16 << 20, 2.0f);
  auto t0 = Clock::now();
  for (int p = 0; p < passes; ++p)
    for (size_t i = 0; i < x.size(); ++i) y[i] += 0.5f * x[i];
  g_sink = y[3];
  return seconds_since(t0);
}

double all_reduce(std::vector<float>& v, int way, int poll_us, MPI_Comm ring) {
  auto t0 = Clock::now();
  const int n = static_cast<int>(v.size());
  if (way == 0) {
    MPI_Allreduce(MPI_IN_PLACE, v.data(), n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  } else if (way == 1) {
    MPI_Request r;
    MPI_Iallreduce(MPI_IN_PLACE, v.data(), n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r);
    for (int done = 0;;) {
      MPI_Test(&r, &done, MPI_STATUS_IGNORE);
      if (done) break;
      std::this_thread::sleep_for(std::chrono::microseconds(poll_us));
    }
  } else {
    kd::dist::ring_allreduce(v.data(), n, MPI_FLOAT, MPI_SUM, ring, poll_us);
  }
  return seconds_since(t0);
}

double slowest(double s) {
  double out = 0;
  MPI_Allreduce(&s, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const long bytes = argc > 1 ? std::atol(argv[1]) : 31250000;
  const int passes = argc > 2 ? std::atoi(argv[2]) : 20;
  const int poll_us = argc > 3 ? std::atoi(argv[3]) : 200;
  MPI_Comm ring;
  MPI_Comm_dup(MPI_COMM_WORLD, &ring);
  std::vector<float> v(static_cast<size_t>(bytes / 4), 1.0f);
  compute(1);  // touch the arrays
  const double alone = slowest(compute(passes));
  if (rank == 0) {
    std::printf("%d ranks, %.1f MB all-reduce, compute loop alone %.0f ms, poll %d us\n", size,
                bytes / 1e6, alone * 1e3, poll_us);
    std::printf(
        "| way | all-reduce alone | at once: all-reduce | at once: compute loop | "
        "compute slowed by |\n|---|---|---|---|---|\n");
  }
  const char* names[] = {"blocking MPI_Allreduce", "MPI_Iallreduce, polled", "ring, polled"};
  for (int way = 0; way < 3; ++way) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double reduce_alone = slowest(all_reduce(v, way, poll_us, ring));
    MPI_Barrier(MPI_COMM_WORLD);
    double reduce_both = 0;
    std::thread comm([&] { reduce_both = all_reduce(v, way, poll_us, ring); });
    const double compute_both = compute(passes);
    comm.join();
    const double r = slowest(reduce_both), c = slowest(compute_both);
    if (rank == 0)
      std::printf("| %s | %.0f ms | %.0f ms | %.0f ms | %+.0f%% |\n", names[way],
                  reduce_alone * 1e3, r * 1e3, c * 1e3, (c / alone - 1) * 100);
  }
  MPI_Comm_free(&ring);
  MPI_Finalize();
  return 0;
}

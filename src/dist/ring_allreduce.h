// A ring all-reduce (reduce-scatter, then all-gather: 2(p-1) steps, each rank sending and
// receiving S/p per step) built from non-blocking point-to-point messages whose completion is
// tested every poll_us microseconds with the thread asleep in between. For the communication
// thread (dist.comm_poll_us): a blocking MPI_Allreduce progresses by spinning, so on a rank with
// one core it takes half of that core from backward for as long as it lasts; asleep between
// tests, the thread leaves backward the core while the kernel moves the bytes. Measured across
// 2 emulated nodes at 1 Gbit/s (31 MB, bench/mpi_overlap_bench.cpp, README): as fast as
// MPI_Allreduce alone, and a compute loop beside it slowed by 22-56% instead of 50-76%.
#pragma once
#include <mpi.h>

#include <cstdint>

namespace kd::dist {

// In place on `count` elements of `type` at `data`, reduced with `op` (MPI_Reduce_local, so a
// user-defined operation such as the bf16 sum works). `comm` should carry no other messages.
void ring_allreduce(void* data, int64_t count, MPI_Datatype type, MPI_Op op, MPI_Comm comm,
                    int poll_us);

// Hierarchical all-reduce (dist.hierarchical) for several ranks per node: reduce to the node's
// first rank over `node` (shared memory), all-reduce among those leaders over `leaders`
// (MPI_COMM_NULL on the other ranks; the polled ring when poll_us > 0), broadcast inside the
// node. Only the leaders' bytes cross the network: S per node instead of S per rank.
void hierarchical_allreduce(void* data, int64_t count, MPI_Datatype type, MPI_Op op, MPI_Comm node,
                            MPI_Comm leaders, int poll_us);

}  // namespace kd::dist

// CUDA tensors over NCCL (compiled only when CUDA toolkit + NCCL are found; see CMakeLists.txt).
// MPI bootstraps it: rank 0 makes the ncclUniqueId and MPI broadcasts it. Collectives run on the
// communicator's own stream, ordered after the work already queued on the default stream (where
// LibTorch computes) through events, so no LibTorch CUDA API is needed and the same code builds
// against LibTorch 1.13 (CPU) and 2.x (CUDA).
#pragma once
#include <mpi.h>

#include "dist/communicator.h"

namespace kd::dist {

// Selects CUDA device local_rank % device_count before creating the NCCL communicator.
std::shared_ptr<Communicator> make_nccl_communicator(MPI_Comm comm, int local_rank);

}  // namespace kd::dist

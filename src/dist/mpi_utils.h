// MPI plumbing shared by the MPI and NCCL communicators: checked calls and dtype mapping.
#pragma once
#include <mpi.h>
#include <torch/torch.h>

#include "common/check.h"
#include "dist/communicator.h"

#define KD_MPI_CHECK(call)                                                                    \
  do {                                                                                        \
    int kd_mpi_rc = (call);                                                                   \
    if (kd_mpi_rc != MPI_SUCCESS) ::kd::dist::mpi_fail(__FILE__, __LINE__, #call, kd_mpi_rc); \
  } while (0)

namespace kd::dist {

[[noreturn]] void mpi_fail(const char* file, int line, const char* call, int rc);
MPI_Datatype mpi_dtype(torch::ScalarType t);
// Sum of bf16 tensors is a user-defined operation (MPI has no bf16 type; the data travel as
// MPI_UINT16_T); Min/Max of bf16 are refused.
MPI_Op mpi_op(ReduceOp op, torch::ScalarType t = torch::kFloat);
// Ensures MPI is initialised; returns true if this call initialised it.
bool ensure_mpi_initialized();

}  // namespace kd::dist

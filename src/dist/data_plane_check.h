// The data-plane check (KD_CHECK_DATA_PLANE=1): a communicator that forwards everything to the
// one it wraps but refuses a host (CPU) tensor on the data plane unless a ModelTensorScope is
// open, as NCCL would refuse it. On a CPU-only machine model tensors are host tensors too, so the
// check cannot look at the device alone: the scope says "these live on the model's device".
#pragma once
#include <memory>

#include "dist/communicator.h"

namespace kd::dist {

std::shared_ptr<Communicator> with_data_plane_check(std::shared_ptr<Communicator> inner);

}  // namespace kd::dist

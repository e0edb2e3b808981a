#include "dist/local_communicator.h"

namespace kd::dist {
namespace {
struct CompletedWork : Work {
  bool test() override { return true; }
  void wait() override {}
};
}  // namespace

std::unique_ptr<Work> LocalCommunicator::allreduce_async(torch::Tensor&, ReduceOp) {
  return std::make_unique<CompletedWork>();
}

}  // namespace kd::dist

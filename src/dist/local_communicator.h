#pragma once
#include "dist/communicator.h"

namespace kd::dist {

// World of one: every collective is the identity, so single-process code paths are the same
// code paths as multi-rank ones.
class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  void allreduce(torch::Tensor&, ReduceOp) override {}
  std::unique_ptr<Work> allreduce_async(torch::Tensor&, ReduceOp) override;
  void broadcast(torch::Tensor&, int) override {}
  void barrier() override {}
  std::shared_ptr<Communicator> split(int color, int) override {
    if (color < 0) return nullptr;
    return std::make_shared<LocalCommunicator>();
  }
  double allreduce_scalar(double value, ReduceOp) override { return value; }
  void allreduce_values(std::vector<double>&, ReduceOp) override {}
  std::string broadcast_string(const std::string& value, int) override { return value; }
  std::vector<std::string> gather_strings(const std::string& value, int) override {
    return {value};
  }
};

}  // namespace kd::dist

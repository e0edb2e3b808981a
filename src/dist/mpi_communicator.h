#pragma once
#include <mpi.h>

#include "dist/communicator.h"

namespace kd::dist {

// CPU tensors over MPI. allreduce_async() either runs the blocking MPI_Allreduce at once and
// returns completed work (default), or launches MPI_Iallreduce and lets Work::test() progress it.
// Why blocking by default: measured here (bench/mpi_allreduce_bench.cpp), Open MPI 4.1's
// MPI_Iallreduce (libnbc) moves large buffers at about a third of the speed of the tuned
// blocking MPI_Allreduce, and a CPU rank has no spare core to progress it in the background
// anyway; so each bucket is reduced at full speed the moment its gradients are ready.
class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm, bool owns = false, bool nonblocking = false);
  ~MpiCommunicator() override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  void allreduce(torch::Tensor& t, ReduceOp op) override;
  std::unique_ptr<Work> allreduce_async(torch::Tensor& t, ReduceOp op) override;
  void broadcast(torch::Tensor& t, int root) override;
  void barrier() override;
  std::shared_ptr<Communicator> split(int color, int key) override;
  double allreduce_scalar(double value, ReduceOp op) override;
  void allreduce_values(std::vector<double>& values, ReduceOp op) override;
  std::string broadcast_string(const std::string& value, int root) override;
  std::vector<std::string> gather_strings(const std::string& value, int root) override;
  MPI_Comm comm() const { return comm_; }

 private:
  MPI_Comm comm_;
  bool owns_;
  bool nonblocking_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace kd::dist

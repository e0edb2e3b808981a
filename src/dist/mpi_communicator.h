#pragma once
#include <mpi.h>

#include "dist/communicator.h"

namespace kd::dist {

// CPU tensors over MPI. Asynchronous all-reduce uses MPI_Iallreduce; Work::test() calls
// MPI_Test, which is what progresses the collective with OpenMPI's shared-memory transport.
class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm, bool owns = false);
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
  std::string broadcast_string(const std::string& value, int root) override;
  std::vector<std::string> gather_strings(const std::string& value, int root) override;
  MPI_Comm comm() const { return comm_; }

 private:
  MPI_Comm comm_;
  bool owns_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace kd::dist

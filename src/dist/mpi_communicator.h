#pragma once
#include <mpi.h>

#include <memory>

#include "dist/comm_thread.h"
#include "dist/communicator.h"

namespace kd::dist {

// CPU tensors over MPI. allreduce_async() either runs the blocking MPI_Allreduce at once and
// returns completed work (default), or launches MPI_Iallreduce and lets Work::test() progress it.
// Why blocking by default: measured here (bench/mpi_allreduce_bench.cpp), Open MPI 4.1's
// MPI_Iallreduce (libnbc) moves large buffers at about a third of the speed of the tuned
// blocking MPI_Allreduce, and a CPU rank has no spare core to progress it in the background
// anyway; so each bucket is reduced at full speed the moment its gradients are ready.
// comm_thread (dist.comm_thread): allreduce_async() hands the blocking MPI_Allreduce to one
// communication thread (in submission order) and returns at once, so a bucket is reduced while
// backward computes the next ones; every other collective of this communicator first waits for
// that thread to be idle (no two collectives of one communicator run at once). Needs
// MPI_THREAD_MULTIPLE; without it, a warning and the blocking mode.
// poll_us > 0 (dist.comm_poll_us): the thread runs a ring all-reduce of non-blocking
// point-to-point messages (ring_allreduce.h) that it tests every poll_us microseconds, sleeping
// in between, instead of the blocking MPI_Allreduce, which progresses by spinning: on a rank
// with one core the spinning thread takes half of it from backward for as long as the
// all-reduce lasts. (MPI_Iallreduce tested the same way was measured 2x slower across nodes:
// Open MPI's libnbc does not pipeline it.)
// hierarchical (dist.hierarchical): data-plane all-reduces go node-local reduce -> leaders'
// all-reduce -> node-local broadcast (ring_allreduce.h), so one rank per node uses the network
// (not with nonblocking, whose MPI_Iallreduce stays flat).
class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm, bool owns = false, bool nonblocking = false,
                           bool comm_thread = false, int poll_us = 0, bool hierarchical = false);
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
  bool has_comm_thread() const { return thread_ != nullptr; }
  // "" when flat, else "hierarchical: this node's N ranks reduce to one of M leaders" (the log).
  std::string topology() const;

 private:
  void drain();
  MPI_Comm comm_;
  bool owns_;
  bool nonblocking_;
  int rank_ = 0;
  int size_ = 1;
  std::unique_ptr<CommThread> thread_;
  int poll_us_ = 0;
  MPI_Comm ring_comm_ = MPI_COMM_NULL;  // the ring's messages, apart from every other message
  // hierarchical: this rank's node and, on each node's first rank, the leaders of all nodes.
  MPI_Comm node_comm_ = MPI_COMM_NULL;
  MPI_Comm leaders_comm_ = MPI_COMM_NULL;
  bool hierarchical() const { return node_comm_ != MPI_COMM_NULL; }
};

}  // namespace kd::dist

// Transport for collectives. One interface, three backends chosen in one factory
// (communicator_factory.cpp): MPI (CPU tensors), NCCL (CUDA tensors; bootstrapped over MPI; its
// own stream) and local (world 1: every collective is the identity). Call sites never ask which.
// Collectives must be issued in the same order on every rank of a communicator.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace kd::dist {

enum class ReduceOp { Sum, Min, Max };

// A launched asynchronous collective.
class Work {
 public:
  virtual ~Work() = default;
  virtual bool test() = 0;  // true when complete; also drives progress (MPI)
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;

  // Data plane: in place on a contiguous tensor on the model's device (CPU for MPI/local, CUDA
  // for NCCL, which rejects host tensors). Gradients and parameters only; host values go
  // through allreduce_host.
  virtual void allreduce(torch::Tensor& t, ReduceOp op = ReduceOp::Sum) = 0;
  virtual std::unique_ptr<Work> allreduce_async(torch::Tensor& t, ReduceOp op = ReduceOp::Sum) = 0;
  virtual void broadcast(torch::Tensor& t, int root) = 0;
  virtual void barrier() = 0;
  // Ranks with the same color form a new communicator, ordered by key (MPI_Comm_split). A rank
  // that passes a negative color joins no group and gets nullptr (MPI_UNDEFINED): a campaign
  // makes one group per stage, and the ranks outside a stage need no communicator for it.
  virtual std::shared_ptr<Communicator> split(int color, int key) = 0;

  // Control plane on host values (always through MPI or local, whatever the data backend).
  virtual double allreduce_scalar(double value, ReduceOp op) = 0;
  // Several host values in one collective (a step's loss and flags: one round trip, not three).
  virtual void allreduce_values(std::vector<double>& values, ReduceOp op) = 0;
  virtual std::string broadcast_string(const std::string& value, int root) = 0;
  virtual std::vector<std::string> gather_strings(const std::string& value, int root) = 0;
  // A host tensor (probe sums, per-rank counts, pruning scores) reduced in place through the
  // control plane, whatever the data backend. CPU and contiguous, any floating or integer dtype;
  // summed as double, so integers are exact below 2^53.
  void allreduce_host(torch::Tensor& host, ReduceOp op = ReduceOp::Sum);

  bool is_root() const { return rank() == 0; }
};

struct CommOptions {
  std::string backend = "auto";  // auto | mpi | nccl | local
  std::string device = "cpu";    // cpu | cuda (tensors the data plane will see)
  bool mpi_nonblocking = false;  // MPI_Iallreduce for gradient buckets (see mpi_communicator.h)
  bool comm_thread = false;      // MPI: gradient buckets reduced on a communication thread
  int comm_poll_us = 0;          // comm_thread: polled ring all-reduce every N µs (0: blocking)
  bool hierarchical = false;     // MPI: node-local reduce, leaders' all-reduce, node-local bcast
  double stall_warn_s = 300;     // a collective waiting longer is reported (collective_watchdog.h)
  double timeout_s = 1800;       // ... and past this it ends the job (0: never)
};

// Marks the data-plane calls made on model tensors (gradients, parameters) for the data-plane
// check below; the gradient reducer and the parameter broadcast open one. Per thread.
class ModelTensorScope {
 public:
  ModelTensorScope();
  ~ModelTensorScope();
  ModelTensorScope(const ModelTensorScope&) = delete;
  ModelTensorScope& operator=(const ModelTensorScope&) = delete;
  static bool active();
};

// Initialises MPI on first use (MPI_THREAD_MULTIPLE, for dist.comm_thread and the watchdog;
// singleton runs work without mpirun) and returns the world communicator for the options; logs
// the choice and why. With 2+ ranks the first call also starts the collective watchdog.
// KD_CHECK_DATA_PLANE=1 in the environment wraps it in a check that refuses a host (CPU) tensor
// on the data plane outside a ModelTensorScope, as NCCL would: on a CPU-only machine it catches
// a call site that could not run on GPUs (the end-to-end tests run with it).
std::shared_ptr<Communicator> make_world_communicator(const CommOptions& options);
// While set, make_world_communicator returns `group` instead of the world: a campaign runs each
// stage's command unchanged on the stage's rank group. nullptr clears it.
void set_world_override(std::shared_ptr<Communicator> group);
// Rank among the processes on this host (selects the GPU); 0 before the factory ran.
int local_rank();
// Whether the binary was built with the NCCL backend.
bool nccl_available();
// Aborts every rank of the job (MPI_Abort) after printing `message`; never returns. Used when an
// exception escapes on one rank so that the others do not hang in a collective.
[[noreturn]] void abort_job(const std::string& message, int exit_code = 1);
// Size of MPI_COMM_WORLD, or 1 while MPI is not initialised (a world-of-one run).
int mpi_world_size();
// Stops the collective watchdog (every rank) and finalises MPI if it was initialised here.
void finalize();

}  // namespace kd::dist

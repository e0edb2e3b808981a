#include "dist/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include "dist/collective_watchdog.h"
#include "dist/in_flight_watch.h"
#include "dist/mpi_communicator.h"
#include "dist/mpi_utils.h"

#define KD_CUDA_CHECK(call)                                            \
  do {                                                                 \
    cudaError_t kd_err = (call);                                       \
    KD_CHECK(kd_err == cudaSuccess, "CUDA call failed: {}: {}", #call, \
             cudaGetErrorString(kd_err));                              \
  } while (0)
#define KD_NCCL_CHECK(call)                                                              \
  do {                                                                                   \
    ncclResult_t kd_res = (call);                                                        \
    KD_CHECK_HINT(kd_res == ncclSuccess, "set NCCL_DEBUG=INFO for NCCL's own diagnosis", \
                  "NCCL call failed: {}: {}", #call, ncclGetErrorString(kd_res));        \
  } while (0)

namespace kd::dist {
namespace {

ncclDataType_t nccl_dtype(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return ncclFloat32;
    case torch::kHalf:
      return ncclFloat16;
    case torch::kBFloat16:
      return ncclBfloat16;
    case torch::kDouble:
      return ncclFloat64;
    case torch::kInt:
      return ncclInt32;
    case torch::kLong:
      return ncclInt64;
    case torch::kChar:
      return ncclInt8;
    case torch::kByte:
      return ncclUint8;
    default:
      KD_FAIL("NCCL communicator: unsupported dtype {}", c10::toString(t));
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
      return ncclSum;
    case ReduceOp::Min:
      return ncclMin;
    case ReduceOp::Max:
      return ncclMax;
  }
  return ncclSum;
}

void check_cuda_tensor(const torch::Tensor& t, const char* what) {
  KD_CHECK(t.defined() && t.is_cuda() && t.is_contiguous(),
           "NCCL {}: tensor must be a contiguous CUDA tensor", what);
}

class NcclWork : public Work {
 public:
  explicit NcclWork(cudaStream_t stream) {
    KD_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
    KD_CUDA_CHECK(cudaEventRecord(done_, stream));
  }
  ~NcclWork() override { cudaEventDestroy(done_); }
  bool test() override { return cudaEventQuery(done_) == cudaSuccess; }
  // The default stream (LibTorch's compute) waits for the collective; the host does not block.
  void wait() override { KD_CUDA_CHECK(cudaStreamWaitEvent(0, done_, 0)); }

 private:
  cudaEvent_t done_;
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(MPI_Comm mpi_comm, bool owns) : control_(mpi_comm, owns) {
    ncclUniqueId id;
    if (control_.rank() == 0) KD_NCCL_CHECK(ncclGetUniqueId(&id));
    KD_MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, mpi_comm));
    KD_CUDA_CHECK(cudaGetDevice(&device_));
    KD_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    KD_CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    KD_NCCL_CHECK(ncclCommInitRank(&comm_, control_.size(), id, control_.rank()));
    check_id_ = add_watchdog_check([this](const WatchdogOptions& o) { return watch(o); });
  }
  ~NcclCommunicator() override {
    remove_watchdog_check(check_id_);
    ncclCommDestroy(comm_);
    cudaEventDestroy(ready_);
    cudaStreamDestroy(stream_);
  }
  int rank() const override { return control_.rank(); }
  int size() const override { return control_.size(); }
  std::string backend() const override { return "nccl"; }

  void allreduce(torch::Tensor& t, ReduceOp op) override { allreduce_async(t, op)->wait(); }
  std::unique_ptr<Work> allreduce_async(torch::Tensor& t, ReduceOp op) override {
    check_cuda_tensor(t, "allreduce");
    order_after_default_stream();
    KD_NCCL_CHECK(ncclAllReduce(t.data_ptr(), t.data_ptr(), t.numel(), nccl_dtype(t.scalar_type()),
                                nccl_op(op), comm_, stream_));
    watch_launch("NCCL all-reduce");
    return std::make_unique<NcclWork>(stream_);
  }
  void broadcast(torch::Tensor& t, int root) override {
    check_cuda_tensor(t, "broadcast");
    order_after_default_stream();
    KD_NCCL_CHECK(ncclBroadcast(t.data_ptr(), t.data_ptr(), t.numel(), nccl_dtype(t.scalar_type()),
                                root, comm_, stream_));
    watch_launch("NCCL broadcast");
    NcclWork(stream_).wait();
  }
  void barrier() override {
    KD_CUDA_CHECK(cudaStreamSynchronize(stream_));
    control_.barrier();
  }
  std::shared_ptr<Communicator> split(int color, int key) override {
    MPI_Comm sub;
    KD_MPI_CHECK(MPI_Comm_split(control_.comm(), color < 0 ? MPI_UNDEFINED : color, key, &sub));
    if (sub == MPI_COMM_NULL) return nullptr;
    return std::make_shared<NcclCommunicator>(sub, /*owns=*/true);
  }
  double allreduce_scalar(double v, ReduceOp op) override {
    return control_.allreduce_scalar(v, op);
  }
  void allreduce_values(std::vector<double>& v, ReduceOp op) override {
    control_.allreduce_values(v, op);
  }
  std::string broadcast_string(const std::string& v, int root) override {
    return control_.broadcast_string(v, root);
  }
  std::vector<std::string> gather_strings(const std::string& v, int root) override {
    return control_.gather_strings(v, root);
  }

 private:
  // Every launch is watched (in_flight_watch.h): an event recorded on the stream after it.
  void watch_launch(const char* what) {
    cudaEvent_t done;
    KD_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    KD_CUDA_CHECK(cudaEventRecord(done, stream_));
    in_flight_.add(what, {[done] { return cudaEventQuery(done) == cudaSuccess; },
                          [done] { cudaEventDestroy(done); }});
  }
  // The watchdog's check (its thread): NCCL's asynchronous error, then collectives past the
  // deadline; either aborts the communicator (its kernels return) before the job ends.
  std::string watch(const WatchdogOptions& o) {
    cudaSetDevice(device_);  // the watchdog thread's current device
    ncclResult_t async = ncclSuccess;
    ncclCommGetAsyncError(comm_, &async);
    std::string failure;
    if (async != ncclSuccess && async != ncclInProgress)
      failure = fmt::format("NCCL reported an asynchronous error on rank {}: {} ({})", rank(),
                            ncclGetErrorString(async), ncclGetLastError(comm_));
    else
      failure = in_flight_.check(o, fmt::format("rank {}", rank()));
    if (!failure.empty()) ncclCommAbort(comm_);
    return failure;
  }
  void order_after_default_stream() {
    KD_CUDA_CHECK(cudaEventRecord(ready_, 0));
    KD_CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
  }
  MpiCommunicator control_;
  int device_ = 0;
  int check_id_ = -1;
  InFlightWatch in_flight_;
  ncclComm_t comm_;
  cudaStream_t stream_;
  cudaEvent_t ready_;
};

}  // namespace

std::shared_ptr<Communicator> make_nccl_communicator(MPI_Comm comm, int local_rank) {
  int devices = 0;
  KD_CUDA_CHECK(cudaGetDeviceCount(&devices));
  KD_CHECK_HINT(devices > 0, "run on a GPU node or set dist.backend: mpi",
                "NCCL backend requested but no CUDA device is visible");
  KD_CUDA_CHECK(cudaSetDevice(local_rank % devices));
  return std::make_shared<NcclCommunicator>(comm, /*owns=*/false);
}

}  // namespace kd::dist

#include "dist/mpi_communicator.h"

#include "common/log.h"
#include "dist/collective_watchdog.h"
#include "dist/mpi_utils.h"
#include "dist/ring_allreduce.h"

namespace kd::dist {

void mpi_fail(const char* file, int line, const char* call, int rc) {
  char text[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  MPI_Error_string(rc, text, &len);
  fail_at(file, line, fmt::format("MPI call failed: {}: {}", call, std::string(text, len)));
}

MPI_Datatype mpi_dtype(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return MPI_FLOAT;
    case torch::kDouble:
      return MPI_DOUBLE;
    case torch::kInt:
      return MPI_INT32_T;
    case torch::kLong:
      return MPI_INT64_T;
    case torch::kChar:
      return MPI_INT8_T;
    case torch::kByte:
      return MPI_UINT8_T;
    case torch::kBool:
      return MPI_C_BOOL;
    case torch::kBFloat16:
      return MPI_UINT16_T;  // with the bf16 sum of mpi_op()
    default:
      KD_FAIL("MPI communicator: unsupported tensor dtype {} (use fp32 gradients)",
              c10::toString(t));
  }
}

namespace {
// Each pair summed in fp32 and rounded to nearest even bf16 (c10::BFloat16's conversion).
void bf16_sum(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const c10::BFloat16*>(in);
  auto* b = static_cast<c10::BFloat16*>(inout);
  for (int i = 0; i < *len; ++i)
    b[i] = c10::BFloat16(static_cast<float>(a[i]) + static_cast<float>(b[i]));
}
}  // namespace

MPI_Op mpi_op(ReduceOp op, torch::ScalarType t) {
  if (t == torch::kBFloat16) {
    KD_CHECK(op == ReduceOp::Sum, "MPI communicator: only the sum of bf16 tensors is supported");
    static MPI_Op sum = [] {
      MPI_Op created;
      KD_MPI_CHECK(MPI_Op_create(&bf16_sum, /*commute=*/1, &created));
      return created;
    }();
    return sum;
  }
  switch (op) {
    case ReduceOp::Sum:
      return MPI_SUM;
    case ReduceOp::Min:
      return MPI_MIN;
    case ReduceOp::Max:
      return MPI_MAX;
  }
  return MPI_SUM;
}

bool ensure_mpi_initialized() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return false;
  int provided = 0;
  // MULTIPLE: dist.comm_thread runs gradient all-reduces on a second thread while other
  // communicators (a campaign's, a relation group's) may be used from the main thread.
  KD_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided));
  // Errors come back as codes so that KD_MPI_CHECK can name the call and rank.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  return true;
}

namespace {
void check_cpu_contiguous(const torch::Tensor& t, const char* what) {
  KD_CHECK(t.defined() && t.device().is_cpu() && t.is_contiguous(),
           "MPI {}: tensor must be a contiguous CPU tensor (got {})", what,
           t.defined() ? t.toString() : std::string("undefined"));
}

// A bucket handed to the communication thread.
class ThreadWork : public Work {
 public:
  ThreadWork(CommThread& thread, std::shared_ptr<CommThread::Ticket> ticket)
      : thread_(thread), ticket_(std::move(ticket)) {}
  ~ThreadWork() override {
    if (!waited_) thread_.drain();  // never free a buffer the thread may still be reducing
  }
  bool test() override { return thread_.done(*ticket_); }
  void wait() override {
    waited_ = true;
    CollectiveScope scope("gradient all-reduce");
    thread_.wait(*ticket_);
  }

 private:
  CommThread& thread_;
  std::shared_ptr<CommThread::Ticket> ticket_;
  bool waited_ = false;
};

class MpiWork : public Work {
 public:
  MpiWork() = default;
  ~MpiWork() override {
    if (!done_) MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }
  bool test() override {
    if (done_) return true;
    int flag = 0;
    KD_MPI_CHECK(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE));
    done_ = flag != 0;
    return done_;
  }
  void wait() override {
    if (done_) return;
    CollectiveScope scope("gradient all-reduce");
    KD_MPI_CHECK(MPI_Wait(&request_, MPI_STATUS_IGNORE));
    done_ = true;
  }
  MPI_Request request_ = MPI_REQUEST_NULL;
  bool done_ = false;
};
}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm, bool owns, bool nonblocking, bool comm_thread,
                                 int poll_us, bool hierarchical)
    : comm_(comm), owns_(owns), nonblocking_(nonblocking), poll_us_(poll_us) {
  KD_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  KD_MPI_CHECK(MPI_Comm_size(comm_, &size_));
  if (hierarchical && size_ > 1) {
    KD_MPI_CHECK(
        MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node_comm_));
    int node_rank = 0;
    KD_MPI_CHECK(MPI_Comm_rank(node_comm_, &node_rank));
    KD_MPI_CHECK(MPI_Comm_split(comm_, node_rank == 0 ? 0 : MPI_UNDEFINED, rank_, &leaders_comm_));
  }
  if (comm_thread && size_ > 1) {
    int level = 0;
    KD_MPI_CHECK(MPI_Query_thread(&level));
    if (level >= MPI_THREAD_MULTIPLE) {
      thread_ = std::make_unique<CommThread>();
      if (poll_us_ > 0) KD_MPI_CHECK(MPI_Comm_dup(comm_, &ring_comm_));
    } else {
      log_warn("dist",
               "dist.comm_thread needs MPI_THREAD_MULTIPLE, which this MPI does not "
               "provide: gradient buckets are reduced on the main thread");
    }
  }
}

void MpiCommunicator::drain() {
  if (thread_) thread_->drain();
}

MpiCommunicator::~MpiCommunicator() {
  thread_.reset();  // the thread's queued all-reduces finish first
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && ring_comm_ != MPI_COMM_NULL) MPI_Comm_free(&ring_comm_);
  if (!finalized && node_comm_ != MPI_COMM_NULL) MPI_Comm_free(&node_comm_);
  if (!finalized && leaders_comm_ != MPI_COMM_NULL) MPI_Comm_free(&leaders_comm_);
  if (owns_ && !finalized) MPI_Comm_free(&comm_);
}

void MpiCommunicator::allreduce(torch::Tensor& t, ReduceOp op) {
  check_cpu_contiguous(t, "allreduce");
  CollectiveScope scope("allreduce");
  drain();
  if (hierarchical()) {
    hierarchical_allreduce(t.data_ptr(), t.numel(), mpi_dtype(t.scalar_type()),
                           mpi_op(op, t.scalar_type()), node_comm_, leaders_comm_, 0);
    return;
  }
  KD_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()),
                             mpi_dtype(t.scalar_type()), mpi_op(op, t.scalar_type()), comm_));
}

std::string MpiCommunicator::topology() const {
  if (!hierarchical()) return "";
  int node_size = 0, leaders = 0;
  MPI_Comm_size(node_comm_, &node_size);
  if (leaders_comm_ != MPI_COMM_NULL) MPI_Comm_size(leaders_comm_, &leaders);
  return fmt::format("hierarchical: this node's {} ranks reduce to one of {} leaders", node_size,
                     leaders > 0 ? std::to_string(leaders) : std::string("the"));
}

std::unique_ptr<Work> MpiCommunicator::allreduce_async(torch::Tensor& t, ReduceOp op) {
  check_cpu_contiguous(t, "allreduce_async");
  if (thread_) {
    // The tensor is a bucket that lives until finish() has waited for this work.
    void* data = t.data_ptr();
    const int count = static_cast<int>(t.numel());
    MPI_Datatype type = mpi_dtype(t.scalar_type());
    MPI_Op mop = mpi_op(op, t.scalar_type());
    MPI_Comm comm = comm_;
    const int poll_us = poll_us_;
    MPI_Comm ring = ring_comm_, node = node_comm_, leaders = leaders_comm_;
    auto ticket = thread_->submit([=] {
      if (node != MPI_COMM_NULL)
        hierarchical_allreduce(data, count, type, mop, node, leaders, poll_us);
      else if (poll_us > 0)
        ring_allreduce(data, count, type, mop, ring, poll_us);
      else
        KD_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, data, count, type, mop, comm));
    });
    return std::make_unique<ThreadWork>(*thread_, std::move(ticket));
  }
  auto work = std::make_unique<MpiWork>();
  if (!nonblocking_) {
    allreduce(t, op);
    work->done_ = true;
    return work;
  }
  KD_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()),
                              mpi_dtype(t.scalar_type()), mpi_op(op, t.scalar_type()), comm_,
                              &work->request_));
  return work;
}

void MpiCommunicator::broadcast(torch::Tensor& t, int root) {
  check_cpu_contiguous(t, "broadcast");
  CollectiveScope scope("broadcast");
  drain();
  KD_MPI_CHECK(MPI_Bcast(t.data_ptr(), static_cast<int>(t.numel()), mpi_dtype(t.scalar_type()),
                         root, comm_));
}

void MpiCommunicator::barrier() {
  CollectiveScope scope("barrier");
  drain();
  KD_MPI_CHECK(MPI_Barrier(comm_));
}

std::shared_ptr<Communicator> MpiCommunicator::split(int color, int key) {
  CollectiveScope scope("split");
  drain();
  MPI_Comm sub;
  KD_MPI_CHECK(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, key, &sub));
  if (sub == MPI_COMM_NULL) return nullptr;
  return std::make_shared<MpiCommunicator>(sub, /*owns=*/true, nonblocking_, thread_ != nullptr,
                                           poll_us_, hierarchical());
}

double MpiCommunicator::allreduce_scalar(double value, ReduceOp op) {
  CollectiveScope scope("allreduce_scalar");
  drain();
  double out = 0;
  KD_MPI_CHECK(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, mpi_op(op), comm_));
  return out;
}

void MpiCommunicator::allreduce_values(std::vector<double>& values, ReduceOp op) {
  if (values.empty()) return;
  CollectiveScope scope("allreduce_values");
  drain();
  KD_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()),
                             MPI_DOUBLE, mpi_op(op), comm_));
}

std::string MpiCommunicator::broadcast_string(const std::string& value, int root) {
  CollectiveScope scope("broadcast_string");
  drain();
  int64_t len = static_cast<int64_t>(value.size());
  KD_MPI_CHECK(MPI_Bcast(&len, 1, MPI_INT64_T, root, comm_));
  std::string out = rank_ == root ? value : std::string(static_cast<size_t>(len), '\0');
  if (len > 0) KD_MPI_CHECK(MPI_Bcast(out.data(), static_cast<int>(len), MPI_CHAR, root, comm_));
  return out;
}

std::vector<std::string> MpiCommunicator::gather_strings(const std::string& value, int root) {
  CollectiveScope scope("gather_strings");
  drain();
  int len = static_cast<int>(value.size());
  std::vector<int> lens(size_), displs(size_);
  KD_MPI_CHECK(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, root, comm_));
  std::string all;
  if (rank_ == root) {
    int total = 0;
    for (int r = 0; r < size_; ++r) {
      displs[r] = total;
      total += lens[r];
    }
    all.resize(total);
  }
  KD_MPI_CHECK(MPI_Gatherv(value.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(),
                           MPI_CHAR, root, comm_));
  std::vector<std::string> out;
  if (rank_ == root)
    for (int r = 0; r < size_; ++r) out.push_back(all.substr(displs[r], lens[r]));
  return out;
}

}  // namespace kd::dist

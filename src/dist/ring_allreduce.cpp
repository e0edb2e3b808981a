#include "dist/ring_allreduce.h"

#include <chrono>
#include <thread>
#include <vector>

#include "dist/mpi_utils.h"

namespace kd::dist {
namespace {
// Tests both requests every poll_us, asleep in between.
void wait_polled(MPI_Request (&requests)[2], int poll_us) {
  for (int done = 0;;) {
    KD_MPI_CHECK(MPI_Testall(2, requests, &done, MPI_STATUSES_IGNORE));
    if (done) return;
    std::this_thread::sleep_for(std::chrono::microseconds(poll_us));
  }
}
}  // namespace

void ring_allreduce(void* data, int64_t count, MPI_Datatype type, MPI_Op op, MPI_Comm comm,
                    int poll_us) {
  int rank = 0, size = 1, type_size = 0;
  KD_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  KD_MPI_CHECK(MPI_Comm_size(comm, &size));
  KD_MPI_CHECK(MPI_Type_size(type, &type_size));
  if (size == 1 || count == 0) return;
  // Chunk c = elements [begin(c), begin(c + 1)): sizes differ by at most one.
  auto begin = [&](int c) { return count * c / size; };
  auto bytes = [&](int c) { return static_cast<char*>(data) + begin(c) * type_size; };
  auto length = [&](int c) { return static_cast<int>(begin(c + 1) - begin(c)); };
  const int right = (rank + 1) % size, left = (rank + size - 1) % size;
  std::vector<char> incoming(static_cast<size_t>(length(size - 1) + 1) * type_size);
  MPI_Request requests[2];
  // Reduce-scatter: after step s, chunk (rank - s - 1) holds the sum over s + 2 ranks; after
  // p - 1 steps chunk (rank + 1) % p holds every rank's sum.
  for (int s = 0; s < size - 1; ++s) {
    const int send = ((rank - s) % size + size) % size, recv = (send + size - 1) % size;
    KD_MPI_CHECK(MPI_Irecv(incoming.data(), length(recv), type, left, s, comm, &requests[0]));
    KD_MPI_CHECK(MPI_Isend(bytes(send), length(send), type, right, s, comm, &requests[1]));
    wait_polled(requests, poll_us);
    KD_MPI_CHECK(MPI_Reduce_local(incoming.data(), bytes(recv), length(recv), type, op));
  }
  // All-gather: pass the finished chunks around the ring.
  for (int s = 0; s < size - 1; ++s) {
    const int send = ((rank + 1 - s) % size + size) % size, recv = (send + size - 1) % size;
    KD_MPI_CHECK(MPI_Irecv(bytes(recv), length(recv), type, left, size + s, comm, &requests[0]));
    KD_MPI_CHECK(MPI_Isend(bytes(send), length(send), type, right, size + s, comm, &requests[1]));
    wait_polled(requests, poll_us);
  }
}

void hierarchical_allreduce(void* data, int64_t count, MPI_Datatype type, MPI_Op op, MPI_Comm node,
                            MPI_Comm leaders, int poll_us) {
  int node_rank = 0;
  KD_MPI_CHECK(MPI_Comm_rank(node, &node_rank));
  const int n = static_cast<int>(count);
  if (node_rank == 0)
    KD_MPI_CHECK(MPI_Reduce(MPI_IN_PLACE, data, n, type, op, 0, node));
  else
    KD_MPI_CHECK(MPI_Reduce(data, nullptr, n, type, op, 0, node));
  if (leaders != MPI_COMM_NULL) {
    if (poll_us > 0)
      ring_allreduce(data, count, type, op, leaders, poll_us);
    else
      KD_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, data, n, type, op, leaders));
  }
  KD_MPI_CHECK(MPI_Bcast(data, n, type, 0, node));
}

}  // namespace kd::dist

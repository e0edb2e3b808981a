// The one place that knows which backends exist (#ifdef KD_HAVE_NCCL lives here only).
#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "common/log.h"
#include "dist/collective_watchdog.h"
#include "dist/data_plane_check.h"
#include "dist/local_communicator.h"
#include "dist/mpi_communicator.h"
#include "dist/mpi_utils.h"
#ifdef KD_HAVE_NCCL
#include "dist/nccl_communicator.h"
#endif

namespace kd::dist {
namespace {
bool g_we_initialized_mpi = false;
int g_local_rank = 0;
std::shared_ptr<Communicator> g_world_override;

// "2 nodes (node1, node2)": where the ranks are, from every rank's hostname, so a multi-node job
// shows at start that its ranks really are on different hosts (at most 8 names listed).
std::string describe_nodes(int world) {
  constexpr int kLen = 64;
  char mine[kLen] = {};
  gethostname(mine, kLen - 1);
  std::vector<char> all(static_cast<size_t>(kLen) * world);
  KD_MPI_CHECK(MPI_Allgather(mine, kLen, MPI_CHAR, all.data(), kLen, MPI_CHAR, MPI_COMM_WORLD));
  std::vector<std::string> hosts;
  for (int r = 0; r < world; ++r) {
    std::string h(&all[static_cast<size_t>(r) * kLen]);
    if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
  }
  std::string names;
  for (size_t i = 0; i < hosts.size() && i < 8; ++i) names += (i ? ", " : "") + hosts[i];
  if (hosts.size() > 8) names += ", ...";
  return fmt::format("{} node{} ({})", hosts.size(), hosts.size() == 1 ? "" : "s", names);
}

int compute_local_rank() {
  MPI_Comm node;
  KD_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int r = 0;
  MPI_Comm_rank(node, &r);
  MPI_Comm_free(&node);
  return r;
}
}  // namespace

bool nccl_available() {
#ifdef KD_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

int local_rank() {
  return g_local_rank;
}

void set_world_override(std::shared_ptr<Communicator> group) {
  g_world_override = std::move(group);
}

namespace {
std::shared_ptr<Communicator> make_unchecked(const CommOptions& options) {
  const std::string& b = options.backend;
  KD_CHECK(b == "auto" || b == "mpi" || b == "nccl" || b == "local",
           "dist.backend: unknown value '{}' (use auto, mpi, nccl or local)", b);
  KD_CHECK(options.comm_poll_us >= 0 && options.comm_poll_us <= 1000000,
           "dist.comm_poll_us: {} is out of range (0 = blocking, else 1..1000000 microseconds)",
           options.comm_poll_us);
  KD_CHECK(options.stall_warn_s >= 0 && options.timeout_s >= 0,
           "dist.stall_warn_s ({}) and dist.timeout_s ({}) must be >= 0 (0 turns each off)",
           options.stall_warn_s, options.timeout_s);
  if (options.comm_poll_us > 0 && !options.comm_thread)
    log_warn("dist", "dist.comm_poll_us applies only with dist.comm_thread: true; ignored");
  if (g_world_override) {
    // A campaign stage: its group, whatever the stage's own config would have made. A backend
    // the group cannot be is an error rather than a silent change of transport.
    const std::string have = g_world_override->backend();
    KD_CHECK_HINT(b == "auto" || b == have || (b == "mpi" && have == "local") ||
                      (b == "local" && g_world_override->size() == 1),
                  "set the campaign's dist.backend, or dist.backend: auto in the stage's config",
                  "the stage's config asks for dist.backend {} but its campaign group is {}", b,
                  have);
    auto* mpi = dynamic_cast<MpiCommunicator*>(g_world_override.get());
    if (options.comm_thread && mpi && !mpi->has_comm_thread())
      log_warn("dist",
               "dist.comm_thread of the stage's config does not apply: a campaign's "
               "groups reduce gradients in backward's hooks");
    if (options.hierarchical && mpi && mpi->topology().empty())
      log_warn("dist",
               "dist.hierarchical of the stage's config does not apply: a campaign's groups "
               "all-reduce flat");
    const WatchdogOptions running = watchdog_options();
    if (options.timeout_s != running.timeout_s || options.stall_warn_s != running.stall_warn_s)
      log_warn("dist",
               "dist.timeout_s/stall_warn_s of the stage's config do not apply: the job's "
               "watchdog runs with {} s / {} s",
               running.timeout_s, running.stall_warn_s);
    return g_world_override;
  }
  if (b == "local") {
    set_process_identity(0, 1);
    log_info("dist", "communicator: local (world 1), as configured");
    return std::make_shared<LocalCommunicator>();
  }
  g_we_initialized_mpi = ensure_mpi_initialized() || g_we_initialized_mpi;
  int rank = 0, world = 1;
  KD_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  KD_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &world));
  set_process_identity(rank, world);
  init_logging(rank, world);  // so that only rank 0 reports the choice below
  g_local_rank = compute_local_rank();
  const std::string nodes = world > 1 ? describe_nodes(world) : "";
  if (world > 1 && start_watchdog({options.stall_warn_s, options.timeout_s}))
    log_info("dist", "collective watchdog: stalls reported after {} s, deadline {} s{}",
             options.stall_warn_s, options.timeout_s,
             options.timeout_s > 0 ? "" : " (off: dist.timeout_s = 0)");

  const bool cuda = options.device == "cuda";
  if (b == "nccl" || (b == "auto" && cuda && world > 1)) {
#ifdef KD_HAVE_NCCL
    KD_CHECK_HINT(cuda, "set device: cuda, or dist.backend: mpi",
                  "dist.backend nccl needs CUDA tensors but device is '{}'", options.device);
    log_info("dist",
             "communicator: nccl over {} ranks on {} (CUDA device = local rank {} mod count)",
             world, nodes, g_local_rank);
    return make_nccl_communicator(MPI_COMM_WORLD, g_local_rank);
#else
    KD_CHECK_HINT(b != "nccl", "rebuild on a host with the CUDA toolkit and NCCL (KD_NCCL=ON)",
                  "dist.backend nccl requested but this binary was built without NCCL");
    log_warn("dist", "device cuda but no NCCL in this build: falling back to MPI");
#endif
  }
  if (world == 1 && b == "auto") {
    log_info("dist", "communicator: local (world 1)");
    return std::make_shared<LocalCommunicator>();
  }
  auto comm = std::make_shared<MpiCommunicator>(MPI_COMM_WORLD, false, options.mpi_nonblocking,
                                                options.comm_thread, options.comm_poll_us,
                                                options.hierarchical);
  const std::string mode =
      comm->has_comm_thread()
          ? (options.comm_poll_us > 0 ? fmt::format("communication-thread, ring polled every {} us",
                                                    options.comm_poll_us)
                                      : std::string("communication-thread"))
      : options.mpi_nonblocking ? "non-blocking"
                                : "blocking";
  const std::string topology = comm->topology();
  log_info("dist", "communicator: mpi over {} ranks on {} ({} bucket all-reduce{})", world, nodes,
           mode, topology.empty() ? "" : "; " + topology);
  return comm;
}
}  // namespace

std::shared_ptr<Communicator> make_world_communicator(const CommOptions& options) {
  auto comm = make_unchecked(options);
  const char* check = std::getenv("KD_CHECK_DATA_PLANE");
  // A campaign stage's group was split from a world that is already checked.
  if (g_world_override || !check || std::string(check) != "1") return comm;
  log_info("dist", "data-plane check on (KD_CHECK_DATA_PLANE=1): host tensors refused there");
  return with_data_plane_check(std::move(comm));
}

void abort_job(const std::string& message, int exit_code) {
  std::fprintf(stderr, "kdprune: FATAL [%s]: %s\n", process_where().c_str(), message.c_str());
  std::fflush(stderr);
  if (mpi_world_size() > 1)
    MPI_Abort(MPI_COMM_WORLD, exit_code);  // mpirun/srun kill the other ranks
  std::_Exit(exit_code);
}

int mpi_world_size() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  int world = 1;
  if (initialized && !finalized) MPI_Comm_size(MPI_COMM_WORLD, &world);
  return world;
}

void finalize() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) stop_watchdog();
  if (initialized && !finalized && g_we_initialized_mpi) MPI_Finalize();
}

}  // namespace kd::dist

// All-reduce time vs message size (4 KB - 128 MB), for the ring-model fit of
// bench/allreduce_nodes.sh: raw MPI_Allreduce of S bytes, and kdprune's GradReducer over S bytes
// of gradients (1 MB parameters, 25 MB buckets, driven by a real backward; "Backward" is that
// backward alone, so the reducer's cost = Reducer - Backward). Run on the ranks to measure, e.g.
//   mpirun -np 2 build/bench/mpi_allreduce_sweep_bench --benchmark_format=json
// Iterations are fixed per size (every rank must issue the same collectives); time = the slowest
// rank's. KD_HIERARCHICAL=1 makes the reducer hierarchical (for several ranks per node).
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "dist/communicator.h"
#include "dist/grad_reducer.h"
#include "mpi_bench_main.h"

namespace {
using kd::dist::Communicator;
std::shared_ptr<Communicator> g_comm;

double slowest(double seconds) {
  return g_comm->allreduce_scalar(seconds, kd::dist::ReduceOp::Max);
}

template <class F>
void timed(benchmark::State& state, F&& body) {
  for (auto _ : state) {
    MPI_Barrier(MPI_COMM_WORLD);
    auto t0 = std::chrono::steady_clock::now();
    body();
    state.SetIterationTime(
        slowest(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

std::vector<torch::Tensor> params_of(int64_t bytes) {
  const int64_t chunk = 1 << 18;  // floats = 1 MB
  std::vector<torch::Tensor> ps;
  for (int64_t left = bytes / 4; left > 0; left -= chunk)
    ps.push_back(torch::ones({std::min(left, chunk)}, torch::requires_grad()));
  return ps;
}

void backward_over(const std::vector<torch::Tensor>& ps) {
  for (auto& p : ps) p.mutable_grad() = torch::Tensor();
  std::vector<torch::Tensor> terms;
  for (auto& p : ps) terms.push_back((p * 1.5f).sum());
  torch::stack(terms).sum().backward();
}

void BM_Raw(benchmark::State& state) {
  auto flat = torch::ones({state.range(0) / 4});
  timed(state, [&] {
    MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr(), static_cast<int>(flat.numel()), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
  });
}

void BM_Backward(benchmark::State& state) {
  auto ps = params_of(state.range(0));
  timed(state, [&] { backward_over(ps); });
}

void BM_Reducer(benchmark::State& state) {
  auto ps = params_of(state.range(0));
  kd::dist::GradReducer reducer(g_comm, ps, {25.0, 1.0});
  timed(state, [&] {
    reducer.prepare(true);
    backward_over(ps);
    reducer.finish();
  });
}
}  // namespace

int main(int argc, char** argv) {
  // KD_HIERARCHICAL=1: the reducer's buckets go node-local reduce -> leaders -> node-local
  // broadcast (dist.hierarchical); Raw stays one flat MPI_Allreduce.
  kd::dist::CommOptions options{"mpi", "cpu", false};
  options.hierarchical =
      std::getenv("KD_HIERARCHICAL") && std::string(std::getenv("KD_HIERARCHICAL")) == "1";
  g_comm = kd::dist::make_world_communicator(options);
  torch::set_num_threads(1);
  for (int64_t bytes = 4 << 10; bytes <= (128 << 20); bytes *= 4) {
    // ~64 MB moved per size, between 3 and 200 repetitions.
    const int64_t iters = std::clamp<int64_t>((64 << 20) / bytes, 3, 200);
    for (auto [name, fn] : {std::pair{"Raw", BM_Raw}, std::pair{"Backward", BM_Backward},
                            std::pair{"Reducer", BM_Reducer}}) {
      benchmark::RegisterBenchmark(name, fn)->Arg(bytes)->UseManualTime()->Iterations(iters)->Unit(
          benchmark::kMicrosecond);
    }
    if (bytes == (64 << 20)) bytes = (32 << 20);  // 64 MB, then 128 MB
  }
  run_benchmarks_rank0_reports(g_comm->rank(), &argc, argv);
  g_comm.reset();
  kd::dist::finalize();
  return 0;
}

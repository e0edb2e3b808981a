// Bucketed gradient all-reduce (GradReducer, driven by a real backward) vs one raw
// MPI_Allreduce of the same total bytes. Run on 2 ranks:
//   mpirun -np 2 --allow-run-as-root build/bench/mpi_allreduce_bench
// Each benchmark uses fixed iterations (ranks must issue the same collectives) and manual time
// = the slowest rank's time. The "backward only" case is the same backward with no reducer, so
// bucketed communication cost = bucketed - backward_only.
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <chrono>

#include "dist/communicator.h"
#include "dist/grad_reducer.h"
#include "dist/mpi_communicator.h"
#include "model/bert.h"
#include "mpi_bench_main.h"

namespace {
using kd::dist::Communicator;
std::shared_ptr<Communicator> g_comm;              // blocking bucket all-reduce (default)
std::shared_ptr<Communicator> g_comm_nonblocking;  // MPI_Iallreduce per bucket

double slowest(double seconds) {
  return g_comm->allreduce_scalar(seconds, kd::dist::ReduceOp::Max);
}

// Parameter shapes of the quickstart BERT (H=256, L=4, V=30522): ~47 MB of fp32 gradients.
std::vector<torch::Tensor> make_params() {
  auto c = kd::model::BertConfig::uniform(30522, 256, 4, 4, 1024);
  c.max_position_embeddings = 128;
  kd::model::BertForPreTraining m(c);
  std::vector<torch::Tensor> out;
  for (auto& kv : m->named_parameters())
    out.push_back(kv.value().detach().clone().requires_grad_());
  return out;
}

int64_t total_bytes(const std::vector<torch::Tensor>& ps) {
  int64_t n = 0;
  for (auto& p : ps) n += p.numel() * 4;
  return n;
}

void backward_over(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> terms;
  for (auto& p : ps) terms.push_back((p * 1.5f).sum());
  torch::stack(terms).sum().backward();
}

void BM_RawAllreduce(benchmark::State& state) {
  auto ps = make_params();
  auto flat = torch::ones({total_bytes(ps) / 4});
  for (auto _ : state) {
    MPI_Barrier(MPI_COMM_WORLD);
    auto t0 = std::chrono::steady_clock::now();
    MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr(), flat.numel(), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    state.SetIterationTime(
        slowest(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
  }
  state.SetBytesProcessed(state.iterations() * total_bytes(ps));
}

void run_backward(benchmark::State& state, std::shared_ptr<Communicator> comm) {
  auto ps = make_params();
  kd::dist::GradReducerOptions opts{static_cast<double>(state.range(0)), 1.0};
  std::unique_ptr<kd::dist::GradReducer> reducer;
  if (comm) reducer = std::make_unique<kd::dist::GradReducer>(comm, ps, opts);
  for (auto _ : state) {
    for (auto& p : ps) p.mutable_grad() = torch::Tensor();
    MPI_Barrier(MPI_COMM_WORLD);
    auto t0 = std::chrono::steady_clock::now();
    if (reducer) reducer->prepare(true);
    backward_over(ps);
    if (reducer) reducer->finish();
    state.SetIterationTime(
        slowest(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
  }
  state.SetBytesProcessed(state.iterations() * total_bytes(ps));
  if (reducer) state.counters["buckets"] = static_cast<double>(reducer->num_buckets());
}

void BM_BackwardOnly(benchmark::State& state) {
  run_backward(state, nullptr);
}
void BM_BackwardBucketedAllreduce(benchmark::State& state) {
  run_backward(state, g_comm);
}
void BM_BackwardBucketedIallreduce(benchmark::State& state) {
  run_backward(state, g_comm_nonblocking);
}

BENCHMARK(BM_RawAllreduce)->UseManualTime()->Iterations(30)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BackwardOnly)->Arg(25)->UseManualTime()->Iterations(30)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BackwardBucketedAllreduce)
    ->Arg(25)
    ->Arg(5)
    ->UseManualTime()
    ->Iterations(30)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BackwardBucketedIallreduce)
    ->Arg(25)
    ->UseManualTime()
    ->Iterations(30)
    ->Unit(benchmark::kMillisecond);
}  // namespace

int main(int argc, char** argv) {
  g_comm = kd::dist::make_world_communicator({"mpi", "cpu", false});
  g_comm_nonblocking = std::make_shared<kd::dist::MpiCommunicator>(MPI_COMM_WORLD, /*owns=*/false,
                                                                   /*nonblocking=*/true);
  torch::set_num_threads(1);
  run_benchmarks_rank0_reports(g_comm->rank(), &argc, argv);
  g_comm_nonblocking.reset();
  g_comm.reset();
  kd::dist::finalize();
  return 0;
}

// Shared by bench/mpi_*_bench.cpp: runs the registered benchmarks on every rank (each rank must
// issue the same collectives) with only rank 0 reporting.
#pragma once
#include <benchmark/benchmark.h>

#include <vector>

inline void run_benchmarks_rank0_reports(int rank, int* argc, char** argv) {
  benchmark::Initialize(argc, argv);
  struct Silent : benchmark::BenchmarkReporter {
    bool ReportContext(const Context&) override { return true; }
    void ReportRuns(const std::vector<Run>&) override {}
  } silent;
  if (rank == 0)
    benchmark::RunSpecifiedBenchmarks();
  else
    benchmark::RunSpecifiedBenchmarks(&silent);
  benchmark::Shutdown();
}

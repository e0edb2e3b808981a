// Pre-training data loader throughput on generated shards (T=128, P=20, gzip level 4, 4 shards
// of 8192 rows, Zipf-like token ids so compression is realistic). Compare instances/s with the
// training step's consumption (TrainStep benchmarks: batch * steps/s): the loader must be well
// ahead of it on one background thread.
//   build/bench/kd_bench --benchmark_filter='ShardRead|PretrainLoader'
// Counters: instances/s, tokens/s (attended tokens, sum of attention_mask), slots/s (B*T).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "data/pretrain_loader.h"
#include "data/shard_format.h"

namespace {

constexpr int kT = 128, kP = 20, kShards = 4;
constexpr int64_t kRows = 8192;

// Generated once per process; removed at exit.
class BenchShards {
 public:
  static const BenchShards& get() {
    static BenchShards shards;
    return shards;
  }
  std::vector<std::string> files;
  ~BenchShards() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  BenchShards() {
    dir_ = std::filesystem::temp_directory_path() / ("kd_loader_bench_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    std::mt19937_64 rng(12345);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int s = 0; s < kShards; ++s) {
      files.push_back((dir_ / ("shard_" + std::to_string(s) + ".hdf5")).string());
      kd::data::ShardWriter w(files.back(), kT, kP, /*gzip_level=*/4);
      for (int64_t i = 0; i < kRows; ++i) {
        kd::data::Instance in;
        // 10% short sequences, as create_pretraining_data.py's short_seq_prob.
        const int len = u(rng) < 0.1 ? 16 + static_cast<int>(u(rng) * (kT - 16)) : kT;
        in.input_ids.assign(kT, 0);
        in.input_mask.assign(kT, 0);
        in.segment_ids.assign(kT, 0);
        for (int t = 0; t < len; ++t) {
          // Log-uniform ids over the word pieces ~ Zipf's law.
          in.input_ids[t] = 1000 + static_cast<int32_t>(std::exp(u(rng) * std::log(29000.0)));
          in.input_mask[t] = 1;
          in.segment_ids[t] = t > len / 2;
        }
        in.input_ids[0] = 101;
        in.masked_lm_positions.assign(kP, 0);
        in.masked_lm_ids.assign(kP, 0);
        const int npred = std::min(kP, std::max(1, static_cast<int>(len * 0.15)));
        for (int p = 0; p < npred; ++p) {
          in.masked_lm_positions[p] = 1 + p * (len - 1) / npred;
          in.masked_lm_ids[p] = in.input_ids[in.masked_lm_positions[p]];
        }
        in.next_sentence_label = static_cast<int8_t>(rng() & 1);
        w.append(in);
      }
      w.close();
    }
  }
  std::filesystem::path dir_;
};

// Raw ShardReader::read of windows of range(0) rows (decompression + hyperslab copy).
void BM_ShardRead(benchmark::State& state) {
  const auto& shards = BenchShards::get();
  kd::data::ShardReader reader(shards.files[0]);
  const int64_t window = state.range(0);
  int64_t begin = 0, rows = 0;
  for (auto _ : state) {
    if (begin + window > reader.size()) begin = 0;
    auto block = reader.read(begin, window);
    benchmark::DoNotOptimize(block.input_ids.data());
    begin += window;
    rows += window;
  }
  state.counters["instances/s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
  state.counters["slots/s"] =
      benchmark::Counter(static_cast<double>(rows * kT), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ShardRead)->Arg(1024)->Arg(8192)->Unit(benchmark::kMillisecond)->UseRealTime();

// PretrainLoader::next() as the training loop calls it: range(0) = batch size, range(1) =
// prefetch (0 = no thread: the full cost lands on the caller).
void BM_PretrainLoader(benchmark::State& state) {
  const auto& shards = BenchShards::get();
  kd::data::LoaderOptions o;
  o.files = shards.files;
  o.batch_size = state.range(0);
  o.prefetch = static_cast<int>(state.range(1));
  o.seed = 1;
  kd::data::PretrainLoader loader(o, 0, 1);
  int64_t instances = 0, tokens = 0;
  for (auto _ : state) {
    auto batch = loader.next();
    benchmark::DoNotOptimize(batch->input_ids.data_ptr());
    instances += batch->input_ids.size(0);
    tokens += batch->num_tokens;
  }
  state.counters["instances/s"] =
      benchmark::Counter(static_cast<double>(instances), benchmark::Counter::kIsRate);
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.counters["slots/s"] =
      benchmark::Counter(static_cast<double>(instances * kT), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PretrainLoader)
    ->ArgNames({"batch", "prefetch"})
    ->Args({32, 0})
    ->Args({32, 4})
    ->Args({256, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

// Tokenizer throughput on dictionary text (WordNet glosses from Debian's wordnet-base), one
// thread: bytes/s is the per-core rate. Reference point: Hugging Face tokenizers (Rust,
// BertWordPiece) measured ~2.3 MB/s per core on the same kind of text; the target is >= 3x.
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

#include "text/wordpiece_tokenizer.h"

namespace {

std::vector<std::string> gloss_lines(size_t max_bytes) {
  std::vector<std::string> out;
  size_t total = 0;
  for (const char* f : {"/usr/share/wordnet/data.noun", "/usr/share/wordnet/data.verb"}) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line) && total < max_bytes) {
      auto bar = line.find(" | ");
      if (line.empty() || line[0] == ' ' || bar == std::string::npos) continue;
      out.push_back(line.substr(bar + 3));
      total += out.back().size();
    }
  }
  if (out.empty()) out.push_back("the quick brown fox jumps over the lazy dog . naïve café 中文");
  return out;
}

void run(benchmark::State& state, bool lower) {
  static const auto lines = gloss_lines(8 << 20);
  const auto tok = kd::text::WordPieceTokenizer::from_vocab_file(
      std::string(KD_SOURCE_DIR) + "/data/vocab/bert-base-uncased-vocab.txt", lower);
  std::vector<int32_t> ids;
  size_t bytes = 0, tokens = 0;
  for (auto _ : state) {
    for (const auto& l : lines) {
      ids.clear();
      tok.encode_append(l, ids);
      bytes += l.size();
      tokens += ids.size();
    }
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.counters["x_vs_hf_2.3MBps"] =
      benchmark::Counter(static_cast<double>(bytes) / 2.3e6, benchmark::Counter::kIsRate);
}

void BM_WordPieceUncased(benchmark::State& s) {
  run(s, true);
}
void BM_WordPieceCased(benchmark::State& s) {
  run(s, false);
}
BENCHMARK(BM_WordPieceUncased)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WordPieceCased)->Unit(benchmark::kMillisecond);

}  // namespace

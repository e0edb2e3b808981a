// kdprune-prep tokenize: stdin lines -> ids. Lines are read in blocks; each block is cut into
// one contiguous slice per thread and the slices' outputs are written in order.
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "common/worker_threads.h"
#include "text/wordpiece_tokenizer.h"

namespace kd::prep {
namespace {

struct TokenizeOptions {
  std::string vocab;
  bool cased = false;
  int threads = 0;
  size_t block_lines = 1 << 16;
};

void append_ids(std::string& out, const std::vector<int32_t>& ids) {
  char buf[16];
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out.push_back(' ');
    int n = std::snprintf(buf, sizeof buf, "%d", ids[i]);
    out.append(buf, n);
  }
  out.push_back('\n');
}

int run_tokenize(const TokenizeOptions& o) {
  auto tok = text::WordPieceTokenizer::from_vocab_file(o.vocab, !o.cased);
  const unsigned nthreads = resolve_threads(o.threads);
  std::ios::sync_with_stdio(false);
  std::vector<std::string> lines;
  std::vector<std::string> outs(nthreads);
  bool eof = false;
  while (!eof) {
    lines.clear();
    std::string line;
    while (lines.size() < o.block_lines) {
      if (!std::getline(std::cin, line)) {
        eof = true;
        break;
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(std::move(line));
    }
    if (lines.empty()) break;
    auto work = [&](unsigned t) {
      size_t begin = lines.size() * t / nthreads, end = lines.size() * (t + 1) / nthreads;
      std::string& out = outs[t];
      out.clear();
      std::vector<int32_t> ids;
      for (size_t i = begin; i < end; ++i) {
        ids.clear();
        tok.encode_append(lines[i], ids);
        append_ids(out, ids);
      }
    };
    if (nthreads == 1 || lines.size() < 256) {
      std::string& out = outs[0];
      out.clear();
      std::vector<int32_t> ids;
      for (const auto& l : lines) {
        ids.clear();
        tok.encode_append(l, ids);
        append_ids(out, ids);
      }
      std::cout.write(out.data(), out.size());
    } else {
      run_workers(nthreads, work);
      for (const auto& out : outs) std::cout.write(out.data(), out.size());
    }
  }
  std::cout.flush();
  return std::cout.good() ? 0 : 1;
}

}  // namespace

Runner register_tokenize(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  app.add_option("--vocab", o->vocab, "WordPiece vocab.txt")->required()->check(CLI::ExistingFile);
  app.add_flag("--cased", o->cased,
               "keep case and accents (default: uncased, like bert-base-uncased)");
  app.add_option("--threads", o->threads, "worker threads (0 = all cores)")->capture_default_str();
  return [o] { return run_tokenize(*o); };
}

KD_COMMAND("kdprune-prep", "tokenize",
           "stdin lines -> space-separated WordPiece ids per line (no [CLS]/[SEP])",
           register_tokenize);

}  // namespace kd::prep

// kdprune-prep pretraining-data: text documents -> NVIDIA-layout HDF5 shards.
//   read (sequential, per file, problems counted) -> tokenize (threads over documents)
//   -> split held-out documents -> instances (threads over documents, per-document seeds)
//   -> global shuffle -> round-robin into N shards (sizes differ by at most one).
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <thread>

#include <unistd.h>

#include "commands.h"
#include "common/check.h"
#include "common/log.h"
#include "data/shard_format.h"
#include "text/corpus_reader.h"
#include "text/pretraining_instances.h"
#include "text/text_document_reader.h"
#include "text/wordpiece_tokenizer.h"

namespace kd::prep {
namespace fs = std::filesystem;
namespace {

struct PretrainingDataOptions {
  std::vector<std::string> inputs;
  std::string format = "auto";
  std::string vocab, out;
  bool cased = false;
  int shards = 1;
  uint64_t seed = 12345;
  int dupe_factor = 5;
  double heldout_fraction = 0.01;
  int threads = 0;
  int gzip_level = 4;
  text::PretrainingOptions inst;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Runs fn(i) for i in [0, n) over `threads` workers in dynamic blocks; calls progress(done)
// from the calling thread about twice a second.
template <typename Fn, typename Progress>
void parallel_for(size_t n, unsigned threads, Fn fn, Progress progress) {
  std::atomic<size_t> next{0}, done{0};
  constexpr size_t kBlock = 64;
  auto worker = [&] {
    for (;;) {
      size_t b = next.fetch_add(kBlock);
      if (b >= n) return;
      size_t e = std::min(n, b + kBlock);
      for (size_t i = b; i < e; ++i) fn(i);
      done.fetch_add(e - b);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  if (threads <= 1) {
    worker();
  } else {
    while (done.load() < n) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      progress(done.load());
    }
  }
  for (auto& th : pool) th.join();
  progress(n);
}

struct Progress {
  const char* what;
  Clock::time_point start = Clock::now(), last = start;
  bool tty = isatty(2);
  bool finished = false;
  void operator()(double frac, double mb) {
    if (finished) return;
    finished = frac >= 1.0;
    auto now = Clock::now();
    if (frac < 1.0 && std::chrono::duration<double>(now - last).count() < 0.5) return;
    last = now;
    double s = std::chrono::duration<double>(now - start).count();
    if (mb > 0)
      std::fprintf(stderr, "%s[prep] %-10s %5.1f%%  %8.1f MB  %6.1f MB/s  %5.1fs%s",
                   tty ? "\r" : "", what, 100.0 * frac, mb, s > 0 ? mb / s : 0.0, s,
                   tty && frac < 1.0 ? "" : "\n");
    else
      std::fprintf(stderr, "%s[prep] %-10s %5.1f%%  %5.1fs%s", tty ? "\r" : "", what, 100.0 * frac,
                   s, tty && frac < 1.0 ? "" : "\n");
  }
};

void write_shards(const std::vector<text::CompactInstance>& instances,
                  const std::vector<size_t>& order, const text::InstanceCreator& creator,
                  const std::string& dir, int shards, int gzip_level) {
  fs::create_directories(dir);
  const auto& o = creator.options();
  for (int s = 0; s < shards; ++s) {
    std::string path = fmt::format("{}/shard_{:05d}.h5", dir, s);
    data::ShardWriter w(path, o.max_seq_length, o.max_predictions, gzip_level);
    for (size_t k = s; k < order.size(); k += shards)
      w.append(creator.to_instance(instances[order[k]]));
    w.close();
  }
}

int run_pretraining_data(const PretrainingDataOptions& o) {
  const auto t0 = Clock::now();
  const unsigned threads = resolve_threads(o.threads);
  KD_CHECK(o.shards >= 1, "--shards must be at least 1 (got {})", o.shards);
  KD_CHECK(o.dupe_factor >= 1, "--dupe-factor must be at least 1 (got {})", o.dupe_factor);
  KD_CHECK(o.heldout_fraction >= 0 && o.heldout_fraction < 1,
           "--heldout-fraction must be in [0, 1)");
  const text::CorpusFormat format = text::parse_corpus_format(o.format);
  auto tok = text::WordPieceTokenizer::from_vocab_file(o.vocab, !o.cased);

  // 1. Read.
  std::vector<text::FileReport> reports;
  auto files = text::expand_inputs(o.inputs, reports);
  text::SentenceSplitter splitter;
  std::vector<text::RawDocument> raw;
  uint64_t bytes = 0, skipped_pages = 0, ignored_files = 0;
  for (const auto& f : files) {
    reports.push_back(text::read_corpus_file(f, format, splitter, raw));
    bytes += reports.back().bytes;
    skipped_pages += reports.back().skipped;
    ignored_files += reports.back().ignored;
  }
  for (const auto& r : reports)
    if (!r.problems().empty())
      std::fprintf(stderr, "[prep] %s: %s\n", r.path.c_str(), r.problems().c_str());
  if (skipped_pages)
    log_info("prep", "skipped {} pages (redirects, disambiguation, other namespaces, empty)",
             skipped_pages);
  if (ignored_files) log_info("prep", "ignored {} files that are not .txt books", ignored_files);
  const double mb = bytes / 1e6;
  log_info("prep", "read {} files, {:.1f} MB, {} documents in {:.1f}s", files.size(), mb,
           raw.size(), seconds_since(t0));
  if (raw.empty()) {
    std::fprintf(stderr,
                 "kdprune-prep: error: no usable documents in the input (%zu files, see above)\n",
                 files.size());
    return 2;
  }

  // 2. Tokenize (threads over documents).
  const auto t1 = Clock::now();
  std::vector<text::TokenizedDocument> docs(raw.size());
  std::vector<uint64_t> doc_bytes(raw.size());
  uint64_t cum = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    for (const auto& s : raw[i].sentences) cum += s.size() + 1;
    doc_bytes[i] = cum;
  }
  Progress tprog{"tokenize"};
  parallel_for(
      raw.size(), threads,
      [&](size_t i) {
        auto& d = docs[i];
        for (const auto& s : raw[i].sentences) {
          size_t before = d.tokens.size();
          tok.encode_append(s, d.tokens);
          if (d.tokens.size() > before)
            d.sentence_ends.push_back(static_cast<uint32_t>(d.tokens.size()));
        }
        raw[i] = text::RawDocument{};
      },
      [&](size_t done) {
        double m = (done == 0 ? 0 : doc_bytes[std::min(done, raw.size()) - 1]) / 1e6;
        tprog(static_cast<double>(done) / raw.size(), m);
      });
  raw.clear();
  raw.shrink_to_fit();
  uint64_t tokens = 0, unk = 0, sentences = 0;
  std::vector<text::TokenizedDocument> kept;
  kept.reserve(docs.size());
  for (auto& d : docs) {
    tokens += d.tokens.size();
    sentences += d.num_sentences();
    for (int32_t id : d.tokens) unk += id == tok.unk_id;
    if (!d.sentence_ends.empty()) kept.push_back(std::move(d));
  }
  docs = std::move(kept);
  const double tok_s = seconds_since(t1);
  if (docs.empty()) {
    std::fprintf(stderr, "kdprune-prep: error: no document has any token\n");
    return 2;
  }

  // 3. Held-out documents (whole documents, so no held-out text is seen in training).
  text::Rng split_rng(text::mix_seed(o.seed, 0xD0C5));
  split_rng.shuffle(docs);
  size_t n_heldout = o.heldout_fraction > 0 && docs.size() >= 4
                         ? std::max<size_t>(2, std::llround(docs.size() * o.heldout_fraction))
                         : 0;
  std::vector<text::TokenizedDocument> heldout(std::make_move_iterator(docs.begin()),
                                               std::make_move_iterator(docs.begin() + n_heldout));
  docs.erase(docs.begin(), docs.begin() + n_heldout);

  // 4. Instances.
  text::InstanceCreator creator(tok, o.inst);
  auto make = [&](const std::vector<text::TokenizedDocument>& set, uint64_t salt) {
    std::vector<std::vector<text::CompactInstance>> per(set.size() * o.dupe_factor);
    Progress p{salt ? "heldout" : "instances"};
    parallel_for(
        per.size(), threads,
        [&](size_t k) {
          size_t dupe = k / set.size(), d = k % set.size();
          text::Rng rng(text::mix_seed(o.seed ^ salt, dupe, d));
          creator.create(set, d, rng, per[k]);
        },
        [&](size_t done) { p(static_cast<double>(done) / std::max<size_t>(1, per.size()), 0); });
    std::vector<text::CompactInstance> all;
    for (auto& v : per)
      for (auto& x : v) all.push_back(std::move(x));
    return all;
  };
  const auto t2 = Clock::now();
  auto train = make(docs, 0);
  auto held = heldout.empty() ? std::vector<text::CompactInstance>{} : make(heldout, 0x4E1D);
  if (train.empty()) {
    std::fprintf(stderr, "kdprune-prep: error: no training instances could be made\n");
    return 2;
  }
  uint64_t masked = 0, random_next = 0, inst_tokens = 0;
  for (const auto& x : train) {
    masked += x.masked_positions.size();
    random_next += x.random_next;
    inst_tokens += x.tokens.size();
  }
  const double inst_s = seconds_since(t2);

  // 5. Shuffle and write.
  const auto t3 = Clock::now();
  auto shuffled = [&](size_t n, uint64_t salt) {
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    text::Rng r(text::mix_seed(o.seed, salt));
    r.shuffle(order);
    return order;
  };
  int train_shards = static_cast<int>(std::min<size_t>(o.shards, train.size()));
  write_shards(train, shuffled(train.size(), 0x5A1), creator, o.out + "/train", train_shards,
               o.gzip_level);
  if (!held.empty())
    write_shards(held, shuffled(held.size(), 0x5A2), creator, o.out + "/heldout", 1, o.gzip_level);
  const double write_s = seconds_since(t3);

  int bad_files = 0;
  for (const auto& r : reports) bad_files += !r.problems().empty();
  std::printf(
      "pretraining-data summary\n"
      "  input        %zu files, %.1f MB, %d with problems\n"
      "  documents    %zu train + %zu held-out\n"
      "  sentences    %llu\n"
      "  tokens       %llu  ([UNK] rate %.4f%%)\n"
      "  instances    %zu train in %d shards + %zu held-out  (dupe factor %d)\n"
      "  masked       %llu (%.2f per instance, %.2f%% of instance tokens)\n"
      "  random next  %.2f%%\n"
      "  time         tokenize %.1fs (%.1f MB/s of text, %u threads), instances %.1fs, write "
      "%.1fs, total "
      "%.1fs\n"
      "  output       %s/train/shard_*.h5%s\n",
      files.size(), mb, bad_files, docs.size(), heldout.size(), (unsigned long long)sentences,
      (unsigned long long)tokens, tokens ? 100.0 * unk / tokens : 0.0, train.size(), train_shards,
      held.size(), o.dupe_factor, (unsigned long long)masked, double(masked) / train.size(),
      100.0 * masked / std::max<uint64_t>(1, inst_tokens), 100.0 * random_next / train.size(),
      tok_s, tok_s > 0 ? cum / 1e6 / tok_s : 0.0, threads, inst_s, write_s, seconds_since(t0),
      o.out.c_str(), held.empty() ? "" : fmt::format(", {}/heldout/shard_00000.h5", o.out).c_str());
  return 0;
}

}  // namespace

Runner register_pretraining_data(CLI::App& app) {
  auto o = std::make_shared<PretrainingDataOptions>();
  app.add_option("--input", o->inputs,
                 "corpus files or directories (text: blank line between documents; Wikipedia "
                 "XML dumps, .xml.bz2; WikiExtractor <doc> or JSON; BookCorpus .txt trees)")
      ->required()
      ->delimiter(',');
  app.add_option("--format", o->format, "input format")
      ->check(CLI::IsMember({"auto", "text", "wikipedia", "wikiextractor", "bookcorpus"}))
      ->capture_default_str();
  app.add_option("--vocab", o->vocab, "WordPiece vocab.txt")->required();
  app.add_option("--out", o->out, "output directory (train/ and heldout/ shards)")->required();
  app.add_flag("--cased", o->cased, "cased tokenization");
  app.add_option("--shards", o->shards, "number of training shards")->capture_default_str();
  app.add_option("--max-seq-length", o->inst.max_seq_length)->capture_default_str();
  app.add_option("--max-predictions", o->inst.max_predictions, "max_predictions_per_seq")
      ->capture_default_str();
  app.add_option("--dupe-factor", o->dupe_factor)->capture_default_str();
  app.add_option("--seed", o->seed)->capture_default_str();
  app.add_option("--short-seq-prob", o->inst.short_seq_prob)->capture_default_str();
  app.add_option("--masked-lm-prob", o->inst.masked_lm_prob)->capture_default_str();
  app.add_flag("--whole-word-masking", o->inst.whole_word_mask);
  app.add_option("--heldout-fraction", o->heldout_fraction, "fraction of documents held out")
      ->capture_default_str();
  app.add_option("--threads", o->threads, "worker threads (0 = all cores)")->capture_default_str();
  app.add_option("--gzip-level", o->gzip_level)->capture_default_str();
  return [o] { return run_pretraining_data(*o); };
}

}  // namespace kd::prep

// kdprune-prep pretraining-data: text documents -> NVIDIA-layout HDF5 shards.
//   read (sequential, per file, problems counted) -> tokenize (threads over documents)
//   -> split held-out documents -> instances (threads over documents, per-document seeds)
//   -> shuffle -> round-robin into N shards (sizes differ by at most one).
// Under mpirun/srun each rank reads a share of the files (balanced by bytes) and makes its
// instances; instance_exchange moves them to the rank that writes their shard. The output is
// deterministic for a seed and a number of ranks, whatever the number of threads.
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
#include "common/worker_threads.h"
#include "data/instance_exchange.h"
#include "data/shard_format.h"
#include "dist/communicator.h"
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
  int gzip_level = 1;          // level 4 is 7% smaller and 1.5x slower to write
  bool salient_spans = false;  // mask the corpus's marked spans first (text::kSalientMarker)
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
  // With more than one thread, `threads` workers run and this thread only reports progress.
  if (threads <= 1)
    worker();
  else
    run_workers(
        threads, [&](unsigned) { worker(); }, [&] { progress(done.load()); });
  progress(n);
}

struct Progress {
  const char* what;
  bool enabled = true;  // rank 0 only, in a parallel run
  Clock::time_point start = Clock::now(), last = start;
  bool tty = isatty(2);
  bool finished = false;
  void operator()(double frac, double mb) {
    if (finished || !enabled) return;
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

// Writes this rank's shards (ids `ids`, instance lists `lists`) as dir/shard_%05d.h5.
void write_shards(const std::vector<int>& ids,
                  const std::vector<std::vector<text::CompactInstance>>& lists,
                  const text::InstanceCreator& creator, const std::string& dir, int gzip_level,
                  unsigned threads, Progress& progress) {
  fs::create_directories(dir);
  const auto& o = creator.options();
  double mb = 0;
  for (size_t k = 0; k < ids.size(); ++k) {
    std::string path = fmt::format("{}/shard_{:05d}.h5", dir, ids[k]);
    data::ShardWriter w(path, o.max_seq_length, o.max_predictions, gzip_level, threads);
    for (const auto& x : lists[k])
      w.append_unpadded(x.tokens.data(), x.tokens.size(), x.segment_a_end,
                        x.masked_positions.data(), x.masked_ids.data(), x.masked_positions.size(),
                        x.random_next ? 1 : 0);
    w.close();
    mb += fs::file_size(path) / 1e6;
    progress(static_cast<double>(k + 1) / ids.size(), mb);
  }
}

// Files for this rank: largest first, each to the rank with the fewest bytes so far, so that
// ranks read similar amounts (a single file is read by one rank).
std::vector<std::string> my_files(const std::vector<std::string>& files, int rank, int world) {
  std::vector<std::pair<uint64_t, size_t>> by_size;
  for (size_t i = 0; i < files.size(); ++i) {
    std::error_code ec;
    uint64_t n = fs::file_size(files[i], ec);
    by_size.emplace_back(ec ? 0 : n, i);
  }
  std::stable_sort(by_size.begin(), by_size.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<uint64_t> load(world, 0);
  std::vector<size_t> mine;
  for (const auto& [bytes, i] : by_size) {
    int r = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    load[r] += bytes + 1;
    if (r == rank) mine.push_back(i);
  }
  std::sort(mine.begin(), mine.end());
  std::vector<std::string> out;
  for (size_t i : mine) out.push_back(files[i]);
  return out;
}

// Launched by mpirun or srun: one process per rank; otherwise a world of one without MPI.
std::shared_ptr<dist::Communicator> prep_communicator() {
  const bool launched =
      std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_SIZE");
  dist::CommOptions options;
  options.backend = launched ? "auto" : "local";
  return dist::make_world_communicator(options);
}

int run_pretraining_data(const PretrainingDataOptions& o) {
  const auto t0 = Clock::now();
  auto comm = prep_communicator();
  const int rank = comm->rank(), world = comm->size();
  const bool root = rank == 0;
  auto sum = [&](double v) { return comm->allreduce_scalar(v, dist::ReduceOp::Sum); };
  const unsigned threads = resolve_threads(o.threads);
  KD_CHECK(o.shards >= 1, "--shards must be at least 1 (got {})", o.shards);
  KD_CHECK(o.dupe_factor >= 1, "--dupe-factor must be at least 1 (got {})", o.dupe_factor);
  KD_CHECK(o.heldout_fraction >= 0 && o.heldout_fraction < 1,
           "--heldout-fraction must be in [0, 1)");
  const text::CorpusFormat format = text::parse_corpus_format(o.format);
  auto tok = text::WordPieceTokenizer::from_vocab_file(o.vocab, !o.cased);
  const std::string who = world > 1 ? fmt::format("[rank {}] ", rank) : "";

  // 1. Read this rank's share of the files.
  std::vector<text::FileReport> reports;
  const auto all_files = text::expand_inputs(o.inputs, reports);
  if (!root) reports.clear();  // missing paths are reported once
  const auto files = my_files(all_files, rank, world);
  if (world > 1)
    log_all("prep", "{} of {} input files on this rank", files.size(), all_files.size());
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
      std::fprintf(stderr, "%s[prep] %s: %s\n", who.c_str(), r.path.c_str(), r.problems().c_str());
  skipped_pages = sum(skipped_pages);
  ignored_files = sum(ignored_files);
  const double mb = sum(bytes) / 1e6;
  const auto total_raw = static_cast<uint64_t>(sum(raw.size()));
  if (skipped_pages)
    log_info("prep", "skipped {} pages (redirects, disambiguation, other namespaces, empty)",
             skipped_pages);
  if (ignored_files) log_info("prep", "ignored {} files that are not .txt books", ignored_files);
  log_info("prep", "read {} files, {:.1f} MB, {} documents in {:.1f}s", all_files.size(), mb,
           total_raw, seconds_since(t0));
  if (total_raw == 0) {
    if (root)
      std::fprintf(stderr,
                   "kdprune-prep: error: no usable documents in the input (%zu files, see "
                   "above)\n",
                   all_files.size());
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
  Progress tprog{"tokenize", root};
  std::atomic<uint64_t> unbalanced{0};
  parallel_for(
      raw.size(), threads,
      [&](size_t i) {
        auto& d = docs[i];
        for (const auto& s : raw[i].sentences) {
          size_t before = d.tokens.size();
          if (o.salient_spans)
            unbalanced += !text::encode_marked_append(tok, s, d.tokens);
          else
            tok.encode_append(s, d.tokens);
          if (d.tokens.size() > before)
            d.sentence_ends.push_back(static_cast<uint32_t>(d.tokens.size()));
        }
        raw[i] = text::RawDocument{};
      },
      [&](size_t done) {
        double m = (done == 0 ? 0 : doc_bytes[std::min(done, raw.size()) - 1]) / 1e6;
        tprog(raw.empty() ? 1.0 : static_cast<double>(done) / raw.size(), m);
      });
  raw.clear();
  raw.shrink_to_fit();
  uint64_t tokens = 0, unk = 0, sentences = 0, salient = 0;
  std::vector<text::TokenizedDocument> kept;
  kept.reserve(docs.size());
  for (auto& d : docs) {
    tokens += d.tokens.size();
    sentences += d.num_sentences();
    for (int32_t id : d.tokens) {
      unk += (id & ~text::kSalientBit) == tok.unk_id;
      salient += (id & text::kSalientBit) != 0;
    }
    if (!d.sentence_ends.empty()) kept.push_back(std::move(d));
  }
  docs = std::move(kept);
  const double tok_s = comm->allreduce_scalar(seconds_since(t1), dist::ReduceOp::Max);
  const double text_mb = sum(cum) / 1e6;
  if (sum(docs.size()) == 0) {
    if (root) std::fprintf(stderr, "kdprune-prep: error: no document has any token\n");
    return 2;
  }
  const double mb_per_token = tokens ? cum / 1e6 / tokens : 0.0;
  if (o.salient_spans) {
    const auto n_unbalanced = static_cast<uint64_t>(sum(unbalanced.load()));
    salient = static_cast<uint64_t>(sum(salient));
    if (salient == 0) {
      if (root)
        std::fprintf(stderr,
                     "kdprune-prep: error: --salient-spans, but no sentence of the input marks a "
                     "span (U+2063 before and after it; `kdprune-prep corpus --source "
                     "wordnet-facts` marks each fact's object)\n");
      return 2;
    }
    if (root && n_unbalanced > 0)
      log_warn("prep",
               "{} sentences have an odd number of salient-span markers (U+2063); their "
               "last span is not marked",
               n_unbalanced);
  }

  // 3. Held-out documents (whole documents, so no held-out text is seen in training).
  text::Rng split_rng(text::mix_seed(o.seed, 0xD0C5, static_cast<uint64_t>(rank)));
  split_rng.shuffle(docs);
  size_t n_heldout = o.heldout_fraction > 0 && docs.size() >= 4
                         ? std::max<size_t>(2, std::llround(docs.size() * o.heldout_fraction))
                         : 0;
  std::vector<text::TokenizedDocument> heldout(std::make_move_iterator(docs.begin()),
                                               std::make_move_iterator(docs.begin() + n_heldout));
  docs.erase(docs.begin(), docs.begin() + n_heldout);

  // 4. Instances (random next segments come from this rank's documents, as in NVIDIA's
  //    per-file scripts).
  text::InstanceCreator creator(tok, o.inst);
  const uint64_t rank_salt = world > 1 ? text::mix_seed(0x4A4B, static_cast<uint64_t>(rank)) : 0;
  auto make = [&](const std::vector<text::TokenizedDocument>& set, uint64_t salt) {
    std::vector<std::vector<text::CompactInstance>> per(set.size() * o.dupe_factor);
    std::vector<uint64_t> cum_tokens(set.size() + 1, 0);
    for (size_t d = 0; d < set.size(); ++d)
      cum_tokens[d + 1] = cum_tokens[d] + set[d].tokens.size();
    Progress p{salt ? "heldout" : "instances", root};
    parallel_for(
        per.size(), threads,
        [&](size_t k) {
          size_t dupe = k / set.size(), d = k % set.size();
          text::Rng rng(text::mix_seed(o.seed ^ salt ^ rank_salt, dupe, d));
          creator.create(set, d, rng, per[k]);
        },
        [&](size_t done) {
          // MB of source text turned into instances so far (all dupe rounds count).
          size_t rounds = set.empty() ? 0 : done / set.size(),
                 rest = set.empty() ? 0 : done % set.size();
          double m = (rounds * cum_tokens.back() + cum_tokens[rest]) * mb_per_token;
          p(per.empty() ? 1.0 : static_cast<double>(done) / per.size(), m);
        });
    std::vector<text::CompactInstance> all;
    for (auto& v : per)
      for (auto& x : v) all.push_back(std::move(x));
    return all;
  };
  const auto t2 = Clock::now();
  auto train = make(docs, 0);
  auto held = make(heldout, 0x4E1D);
  uint64_t masked = 0, random_next = 0, inst_tokens = 0;
  for (const auto& x : train) {
    masked += x.masked_positions.size();
    random_next += x.random_next;
    inst_tokens += x.tokens.size();
  }
  const auto n_train = static_cast<uint64_t>(sum(train.size()));
  const auto n_held = static_cast<uint64_t>(sum(held.size()));
  const double inst_s = comm->allreduce_scalar(seconds_since(t2), dist::ReduceOp::Max);
  if (n_train == 0) {
    if (root) std::fprintf(stderr, "kdprune-prep: error: no training instances could be made\n");
    return 2;
  }

  // 5. Shuffle, move instances to the ranks that write their shards, write.
  const auto t3 = Clock::now();
  text::Rng order_rng(text::mix_seed(o.seed, 0x5A0, static_cast<uint64_t>(rank)));
  order_rng.shuffle(train);
  order_rng.shuffle(held);
  const int train_shards = static_cast<int>(std::min<uint64_t>(o.shards, n_train));
  Progress wprog{"write", root};
  write_shards(data::owned_shards(train_shards, rank, world),
               data::exchange_to_shards(*comm, std::move(train), train_shards, o.seed), creator,
               o.out + "/train", o.gzip_level, threads, wprog);
  if (n_held > 0) {
    Progress hprog{"write held", root};
    write_shards(
        data::owned_shards(1, rank, world),
        data::exchange_to_shards(*comm, std::move(held), 1, text::mix_seed(o.seed, 0x4E1D)),
        creator, o.out + "/heldout", o.gzip_level, threads, hprog);
  }
  comm->barrier();  // every shard is closed before the summary claims the output exists
  const double write_s = seconds_since(t3);

  int bad_files = 0;
  for (const auto& r : reports) bad_files += !r.problems().empty();
  bad_files = static_cast<int>(sum(bad_files));
  const auto n_docs = static_cast<uint64_t>(sum(docs.size()));
  const auto n_heldout_docs = static_cast<uint64_t>(sum(heldout.size()));
  sentences = static_cast<uint64_t>(sum(sentences));
  tokens = static_cast<uint64_t>(sum(tokens));
  unk = static_cast<uint64_t>(sum(unk));
  masked = static_cast<uint64_t>(sum(masked));
  random_next = static_cast<uint64_t>(sum(random_next));
  inst_tokens = static_cast<uint64_t>(sum(inst_tokens));
  const double total_s = seconds_since(t0);
  if (!root) return 0;
  std::printf(
      "pretraining-data summary\n"
      "  input        %zu files, %.1f MB, %d with problems\n"
      "  documents    %llu train + %llu held-out\n"
      "  sentences    %llu\n"
      "  tokens       %llu  ([UNK] rate %.4f%%)\n"
      "  instances    %llu train in %d shards + %llu held-out  (dupe factor %d)\n"
      "  masked       %llu (%.2f per instance, %.2f%% of instance tokens)%s\n"
      "  random next  %.2f%%\n"
      "  ranks        %d x %u threads\n"
      "  time         tokenize %.1fs (%.1f MB/s of text), instances %.1fs, write %.1fs, total "
      "%.1fs (%.1f MB/s of input)\n"
      "  output       %s/train/shard_*.h5%s\n",
      all_files.size(), mb, bad_files, (unsigned long long)n_docs,
      (unsigned long long)n_heldout_docs, (unsigned long long)sentences, (unsigned long long)tokens,
      tokens ? 100.0 * unk / tokens : 0.0, (unsigned long long)n_train, train_shards,
      (unsigned long long)n_held, o.dupe_factor, (unsigned long long)masked,
      double(masked) / n_train, 100.0 * masked / std::max<uint64_t>(1, inst_tokens),
      o.salient_spans ? fmt::format("; salient spans first ({} tokens marked)", salient).c_str()
                      : "",
      100.0 * random_next / n_train, world, threads, tok_s, tok_s > 0 ? text_mb / tok_s : 0.0,
      inst_s, write_s, total_s, total_s > 0 ? mb / total_s : 0.0, o.out.c_str(),
      n_held == 0 ? "" : fmt::format(", {}/heldout/shard_00000.h5", o.out).c_str());
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
  app.add_flag("--salient-spans", o->salient_spans,
               "mask the spans the corpus marks (U+2063 around them; wordnet-facts marks each "
               "fact's object) first, always as [MASK] (REALM's salient-span masking)");
  app.add_option("--heldout-fraction", o->heldout_fraction, "fraction of documents held out")
      ->capture_default_str();
  app.add_option("--threads", o->threads, "worker threads (0 = all cores)")->capture_default_str();
  app.add_option("--gzip-level", o->gzip_level)->capture_default_str();
  return [o] { return run_pretraining_data(*o); };
}

KD_COMMAND("kdprune-prep", "pretraining-data",
           "text documents -> NVIDIA-layout HDF5 pre-training shards", register_pretraining_data);

}  // namespace kd::prep

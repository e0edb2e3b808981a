// Pre-training batches from NVIDIA-layout HDF5 shards, for one rank of `world`.
//
// Which rows a rank reads and in which order is a pure function of (files, their sizes, seed,
// world, epoch) — see shard_assignment.h — so all ranks run the same number of drop-last batches
// per epoch and cursor() (epoch, batch) is the same on every rank: saving rank 0's cursor is
// enough, and restore() makes next() return exactly the batch an uninterrupted run would.
// A background thread keeps up to `prefetch` batches ready; an error on it (a corrupt shard) is
// re-thrown by next() with the file named.
#pragma once
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data/file_globs.h"
#include "data/loader_types.h"

namespace kd::data {

class BatchProducer;

class PretrainLoader {
 public:
  // Opens and validates every shard (sizes, T, P); throws kd::Error naming the offending file.
  PretrainLoader(const LoaderOptions& options, int rank, int world);
  ~PretrainLoader();
  PretrainLoader(const PretrainLoader&) = delete;
  PretrainLoader& operator=(const PretrainLoader&) = delete;

  // The next batch; endless over epochs unless options.max_epochs > 0, then nullopt at the end.
  std::optional<PretrainBatch> next();
  // Position after the last batch next() returned (JSON, with checks of the data identity).
  nlohmann::json cursor() const;
  // Continues from a cursor() of a run with the same files, seed, batch size and world size.
  void restore(const nlohmann::json& cursor);

  // Batches per rank in the current epoch (the epoch of cursor()); it may differ slightly
  // between epochs when shards have unequal sizes.
  int64_t batches_per_epoch() const;
  int64_t batches_in_epoch(int64_t epoch) const;
  LoaderPosition position() const { return pos_; }
  int seq_len() const { return seq_len_; }
  int max_predictions() const { return max_predictions_; }
  int64_t total_instances() const { return total_; }
  const std::vector<std::string>& files() const { return opts_.files; }

 private:
  struct Item {
    std::optional<PretrainBatch> batch;  // nullopt + no error: end of data
    LoaderPosition after;
    std::exception_ptr error;
  };
  void start_thread();
  void stop_thread();
  void run();           // thread body
  Item produce_item();  // the next batch (pinned if asked) or the end or the error
  std::string fingerprint() const;

  LoaderOptions opts_;
  int rank_, world_;
  int seq_len_ = 0, max_predictions_ = 0;
  std::vector<int64_t> counts_;
  int64_t total_ = 0;
  std::unique_ptr<BatchProducer> producer_;
  LoaderPosition pos_;        // after the last batch returned by next()
  std::exception_ptr error_;  // sticky: next() keeps re-throwing it
  bool ended_ = false;

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;  // queue changed or stop requested
  std::deque<Item> queue_;
  bool stop_ = false;
  bool running_ = false;
};

}  // namespace kd::data

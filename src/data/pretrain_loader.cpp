#include "data/pretrain_loader.h"

#include <filesystem>

#include "common/check.h"
#include "common/log.h"
#include "data/batch_producer.h"
#include "data/shard_assignment.h"
#include "data/shard_format.h"

namespace kd::data {

namespace {
constexpr const char* kCursorFormat = "kdprune.pretrain_loader/1";
}

PretrainLoader::PretrainLoader(const LoaderOptions& options, int rank, int world)
    : opts_(options), rank_(rank), world_(world) {
  KD_CHECK(world > 0 && rank >= 0 && rank < world, "PretrainLoader: rank {} of world {}", rank,
           world);
  KD_CHECK_HINT(opts_.batch_size > 0, "set data.batch_size", "data batch size {} must be > 0",
                opts_.batch_size);
  KD_CHECK(opts_.prefetch >= 0, "data prefetch {} must be >= 0", opts_.prefetch);
  KD_CHECK(opts_.shuffle_window > 0, "data shuffle window {} must be > 0", opts_.shuffle_window);
  KD_CHECK(opts_.max_epochs >= 0, "data max_epochs {} must be >= 0", opts_.max_epochs);
  KD_CHECK_HINT(!opts_.pin_memory || torch::cuda::is_available(),
                "pinned batches only help copies to a GPU: use device: cpu without them",
                "data: pinned host memory was asked for, but no CUDA device is available");
  opts_.files = expand_globs(options.files);

  // Open every shard once: validates its layout up front (a bad file fails the job at start, not
  // hours later) and gives the row counts the assignment needs.
  for (const auto& file : opts_.files) {
    ShardReader r(file);
    if (counts_.empty()) {
      seq_len_ = r.seq_len();
      max_predictions_ = r.max_predictions();
    }
    KD_CHECK_HINT(r.seq_len() == seq_len_ && r.max_predictions() == max_predictions_,
                  "use shards of one phase (same max_seq_length and max_predictions_per_seq)",
                  "shard '{}' has max_seq_length {} and max_predictions_per_seq {}, but '{}' has "
                  "{} and {}",
                  file, r.seq_len(), r.max_predictions(), opts_.files[0], seq_len_,
                  max_predictions_);
    const auto max_id = r.max_token_id();
    KD_CHECK_HINT(opts_.vocab_size == 0 || !max_id || *max_id < opts_.vocab_size,
                  "make the shards with the model's vocab.txt (kdprune-prep pretraining-data "
                  "--vocab), or train a model with the shards' vocabulary",
                  "shard '{}' holds token id {} (its max_token_id attribute) but the model's "
                  "vocabulary has {} entries: the shards were made with another vocabulary",
                  file, *max_id, opts_.vocab_size);
    counts_.push_back(r.size());
    total_ += r.size();
  }
  KD_CHECK_HINT(opts_.max_seq_length == 0 || opts_.max_seq_length == seq_len_,
                "point data.train at shards made for this sequence length",
                "the shards have max_seq_length {} (e.g. '{}') but {} was requested", seq_len_,
                opts_.files[0], opts_.max_seq_length);
  producer_ =
      std::make_unique<BatchProducer>(opts_, counts_, seq_len_, max_predictions_, rank_, world_);
  const int64_t nb = batches_in_epoch(0);
  KD_CHECK_HINT(nb > 0, "use fewer ranks, a smaller data.batch_size, or more data",
                "data: {} instances in {} shard(s) give no full batch of {} for each of {} ranks",
                total_, counts_.size(), opts_.batch_size, world_);
  const double used = static_cast<double>(nb * opts_.batch_size * world_) / total_;
  log_info("data", "{} shard(s), {} instances, T={} P={}: {} batches of {} per rank per epoch",
           counts_.size(), total_, seq_len_, max_predictions_, nb, opts_.batch_size);
  if (used < 0.9)
    log_warn("data",
             "only {:.1f}% of the instances are used per epoch: ranks get unequal shares "
             "(use a number of shards that is a multiple of the {} ranks)",
             100 * used, world_);
}

PretrainLoader::~PretrainLoader() {
  stop_thread();
}

int64_t PretrainLoader::batches_in_epoch(int64_t epoch) const {
  return common_batches(assign_ranges(counts_, world_, opts_.seed, epoch, opts_.shuffle),
                        opts_.batch_size);
}

int64_t PretrainLoader::batches_per_epoch() const {
  return batches_in_epoch(pos_.epoch);
}

void PretrainLoader::start_thread() {
  producer_->seek(pos_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
    queue_.clear();
  }
  running_ = true;
  thread_ = std::thread([this] { run(); });
}

void PretrainLoader::stop_thread() {
  if (!running_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  running_ = false;
  std::lock_guard<std::mutex> lock(mu_);
  queue_.clear();
  stop_ = false;
}

void PretrainLoader::run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock,
               [this] { return stop_ || queue_.size() < static_cast<size_t>(opts_.prefetch); });
      if (stop_) return;
    }
    Item item = produce_item();  // reads HDF5 (and pins) without holding the lock
    const bool last = !item.batch || item.error;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(item));
    }
    cv_.notify_all();
    if (last) return;
  }
}

PretrainLoader::Item PretrainLoader::produce_item() {
  Item item;
  try {
    auto produced = producer_->produce();
    if (produced) {
      item.batch = std::move(produced->first);
      item.after = produced->second;
      // Pinned here, on the prefetch thread, so that the step's copy to the GPU is asynchronous
      // and the page-locking memcpy is off the training thread.
      if (opts_.pin_memory) pin_batch(*item.batch);
    }
  } catch (...) {
    item.error = std::current_exception();
  }
  return item;
}

std::optional<PretrainBatch> PretrainLoader::next() {
  if (error_) std::rethrow_exception(error_);
  if (ended_) return std::nullopt;
  Item item;
  if (opts_.prefetch == 0) {
    item = produce_item();
  } else {
    if (!running_) start_thread();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !queue_.empty(); });
    item = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    cv_.notify_all();
  }
  if (item.error) {
    error_ = item.error;
    std::rethrow_exception(error_);
  }
  if (!item.batch) {
    ended_ = true;
    return std::nullopt;
  }
  pos_ = item.after;
  return std::move(item.batch);
}

std::string PretrainLoader::fingerprint() const {
  // FNV-1a over file names (not directories: a resumed job may mount the data elsewhere) and
  // sizes, in list order.
  uint64_t h = 0xcbf29ce484222325ull;
  auto eat = [&h](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
    h = (h ^ 0xff) * 0x100000001b3ull;
  };
  for (size_t i = 0; i < opts_.files.size(); ++i) {
    eat(std::filesystem::path(opts_.files[i]).filename().string());
    eat(std::to_string(counts_[i]));
  }
  return fmt::format("{:016x}", h);
}

nlohmann::json PretrainLoader::cursor() const {
  return {{"format", kCursorFormat},
          {"epoch", pos_.epoch},
          {"batch", pos_.batch},
          {"batch_size", opts_.batch_size},
          {"world", world_},
          {"seed", opts_.seed},
          {"shuffle", opts_.shuffle},
          {"shuffle_window", opts_.shuffle_window},
          {"files", opts_.files.size()},
          {"instances", total_},
          {"fingerprint", fingerprint()}};
}

void PretrainLoader::restore(const nlohmann::json& c) {
  const std::string hint =
      "resume with the same data.train files, data.batch_size, seed and number of ranks";
  KD_CHECK(c.is_object() && c.value("format", "") == kCursorFormat,
           "data loader cursor is not a '{}' object: {}", kCursorFormat, c.dump());
  try {
    auto expect = [&](const char* key, const nlohmann::json& mine) {
      KD_CHECK_HINT(c.at(key) == mine, hint,
                    "data loader cursor was saved with {} = {}, but this run has {}", key,
                    c.at(key).dump(), mine.dump());
    };
    expect("batch_size", opts_.batch_size);
    expect("world", world_);
    expect("seed", opts_.seed);
    expect("shuffle", opts_.shuffle);
    expect("shuffle_window", opts_.shuffle_window);
    expect("files", opts_.files.size());
    expect("instances", total_);
    expect("fingerprint", fingerprint());
    LoaderPosition pos{c.at("epoch").get<int64_t>(), c.at("batch").get<int64_t>()};
    stop_thread();
    producer_->seek(pos);  // validates the position
    pos_ = producer_->position();
  } catch (const nlohmann::json::exception& e) {
    KD_FAIL("data loader cursor {} is malformed: {}", c.dump(), e.what());
  }
  error_ = nullptr;
  ended_ = false;
}

}  // namespace kd::data

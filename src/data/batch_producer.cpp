#include "data/batch_producer.h"

#include "common/check.h"

namespace kd::data {

BatchProducer::BatchProducer(const LoaderOptions& options, std::vector<int64_t> counts, int seq_len,
                             int max_predictions, int rank, int world)
    : opts_(options),
      counts_(std::move(counts)),
      rank_(rank),
      world_(world),
      builder_(options.batch_size, seq_len, max_predictions, options.trim_padding,
               options.vocab_size) {
  KD_CHECK(counts_.size() == opts_.files.size(), "BatchProducer: {} counts for {} files",
           counts_.size(), opts_.files.size());
  seek({0, 0});
}

EpochPlan BatchProducer::plan_for(int64_t epoch) const {
  return plan_epoch(counts_, world_, rank_, opts_.seed, epoch, opts_.batch_size, opts_.shuffle,
                    opts_.shuffle_window);
}

void BatchProducer::seek(LoaderPosition pos) {
  KD_CHECK(pos.epoch >= 0 && pos.batch >= 0, "loader position (epoch {}, batch {}) is invalid",
           pos.epoch, pos.batch);
  plan_ = plan_for(pos.epoch);
  KD_CHECK(pos.batch <= plan_.num_batches,
           "loader position (epoch {}, batch {}) is past the {} batches of that epoch", pos.epoch,
           pos.batch, plan_.num_batches);
  if (pos.batch == plan_.num_batches) {
    pos = {pos.epoch + 1, 0};
    plan_ = plan_for(pos.epoch);
  }
  plan_epoch_ = pos.epoch;
  pos_ = pos;
  // Skip the rows of the batches already consumed in this epoch.
  int64_t skip = pos.batch * opts_.batch_size;
  piece_ = 0;
  while (piece_ < plan_.pieces.size() && skip >= plan_.pieces[piece_].count) {
    skip -= plan_.pieces[piece_].count;
    ++piece_;
  }
  offset_ = skip;
  loaded_ = -1;
  builder_.reset();  // a batch interrupted by an error is dropped
}

void BatchProducer::load_piece() {
  const ReadPiece& p = plan_.pieces[piece_];
  const std::string& file = opts_.files[p.file];
  try {
    if (reader_file_ != p.file) {
      reader_.reset();
      reader_file_ = -1;
      reader_ = std::make_unique<ShardReader>(file);
      reader_file_ = p.file;
      KD_CHECK(reader_->size() == counts_[p.file],
               "shard '{}' now has {} rows but had {} when the loader started (file replaced?)",
               file, reader_->size(), counts_[p.file]);
    }
    block_ = reader_->read(p.begin, p.count);
  } catch (const std::exception& e) {
    KD_FAIL("data loader (rank {}): reading rows [{}, {}) of shard '{}' for epoch {} failed: {}",
            rank_, p.begin, p.begin + p.count, file, pos_.epoch, e.what());
  }
  if (p.shuffled) {
    perm_ = seeded_permutation(p.count, p.perm_seed);
  } else {
    perm_.resize(static_cast<size_t>(p.count));
    for (int64_t i = 0; i < p.count; ++i) perm_[i] = i;
  }
  loaded_ = static_cast<int64_t>(piece_);
}

std::optional<std::pair<PretrainBatch, LoaderPosition>> BatchProducer::produce() {
  if (opts_.max_epochs > 0 && pos_.epoch >= opts_.max_epochs) return std::nullopt;
  if (plan_epoch_ != pos_.epoch) seek(pos_);
  KD_CHECK_HINT(plan_.num_batches > 0, "use fewer ranks, a smaller data.batch_size, or more data",
                "data loader: epoch {} has no full batch of {} rows for every rank ({} ranks, "
                "{} rows on rank {})",
                pos_.epoch, opts_.batch_size, world_, plan_.instances, rank_);
  while (!builder_.full()) {
    while (offset_ == plan_.pieces[piece_].count) {
      ++piece_;
      offset_ = 0;
    }
    if (loaded_ != static_cast<int64_t>(piece_)) load_piece();
    const ReadPiece& p = plan_.pieces[piece_];
    const int64_t row = perm_[offset_];
    builder_.add(block_, row, opts_.files[p.file], p.begin + row);
    ++offset_;
  }
  PretrainBatch batch = builder_.take();
  if (++pos_.batch == plan_.num_batches) {
    pos_ = {pos_.epoch + 1, 0};  // the next epoch's plan is made lazily by the next produce()
    block_ = InstanceBlock{};
    loaded_ = -1;
  }
  return std::make_pair(std::move(batch), pos_);
}

}  // namespace kd::data

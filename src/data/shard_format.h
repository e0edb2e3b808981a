// The NVIDIA BERT HDF5 shard layout (see docs/formats.md): one file per shard, N instances,
//   input_ids int32 [N,T] · input_mask int8 [N,T] · segment_ids int8 [N,T]
//   masked_lm_positions int32 [N,P] (0 = padding) · masked_lm_ids int32 [N,P]
//   next_sentence_labels int8 [N]
// ShardReader validates datasets, dtypes and shapes when the file opens (errors name the file and
// dataset); ShardWriter writes gzip-compressed chunked datasets to a temporary name and renames
// on close(), so a partial file never looks complete.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kd::data {

// One training instance (row of every dataset).
struct Instance {
  std::vector<int32_t> input_ids;            // [T]
  std::vector<int8_t> input_mask;            // [T]
  std::vector<int8_t> segment_ids;           // [T]
  std::vector<int32_t> masked_lm_positions;  // [P], 0 = padding
  std::vector<int32_t> masked_lm_ids;        // [P]
  int8_t next_sentence_label = 0;            // 1 = random next segment (NVIDIA convention)
};

// A contiguous block of rows, row-major, as read from a shard.
struct InstanceBlock {
  int64_t count = 0;
  int seq_len = 0;                           // T
  int max_predictions = 0;                   // P
  std::vector<int32_t> input_ids;            // [count*T]
  std::vector<int8_t> input_mask;            // [count*T]
  std::vector<int8_t> segment_ids;           // [count*T]
  std::vector<int32_t> masked_lm_positions;  // [count*P]
  std::vector<int32_t> masked_lm_ids;        // [count*P]
  std::vector<int8_t> next_sentence_labels;  // [count]
};

class ShardReader {
 public:
  explicit ShardReader(const std::string& path);  // opens + validates; throws kd::Error
  ~ShardReader();
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;

  const std::string& path() const { return path_; }
  int64_t size() const { return size_; }
  int seq_len() const { return seq_len_; }
  int max_predictions() const { return max_predictions_; }
  // The largest token id in input_ids and masked_lm_ids, from the file's `max_token_id`
  // attribute (kdprune-prep writes it; other shards have none): checked against the model's
  // vocabulary before training starts.
  std::optional<int64_t> max_token_id() const { return max_token_id_; }
  // Reads rows [begin, begin+count); throws if out of range.
  InstanceBlock read(int64_t begin, int64_t count) const;

 private:
  struct Handles;
  std::string path_;
  int64_t size_ = 0;
  int seq_len_ = 0;
  int max_predictions_ = 0;
  std::optional<int64_t> max_token_id_;
  std::unique_ptr<Handles> h_;
};

class ShardWriter {
 public:
  // Writes to `path + ".partial"`; close() flushes and renames to `path`. Chunks are compressed
  // on `compress_threads` threads (HDF5 calls stay on the calling thread).
  ShardWriter(const std::string& path, int seq_len, int max_predictions, int gzip_level = 4,
              unsigned compress_threads = 1);
  ~ShardWriter();  // without close(): removes the partial file
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  void append(const Instance& instance);  // validates lengths; buffered
  // The same row from unpadded parts, without building an Instance: tokens [n <= T] padded
  // with 0, input_mask 1 on them, segment ids 1 after position `segment_a_end` (the first
  // [SEP]), masked positions/ids [npred <= P] padded with 0.
  void append_unpadded(const int32_t* tokens, size_t n, size_t segment_a_end,
                       const int32_t* positions, const int32_t* ids, size_t npred,
                       int8_t next_sentence_label);
  void close();
  int64_t size() const { return written_ + static_cast<int64_t>(pending_.count); }

 private:
  void flush(bool final);
  struct Handles;
  std::string path_;
  int seq_len_;
  int max_predictions_;
  int gzip_level_;
  unsigned threads_;
  int64_t chunk_rows_ = 1;
  int64_t written_ = 0;
  InstanceBlock pending_;
  int64_t max_token_id_ = 0;  // written as the file's `max_token_id` attribute
  std::unique_ptr<Handles> h_;
  bool closed_ = false;
};

}  // namespace kd::data

#include "data/shard_format.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/signals.h"
#include "data/chunk_codec.h"
#include "data/h5_util.h"

namespace kd::data {
namespace fs = std::filesystem;

namespace {

enum Field { kInputIds, kInputMask, kSegmentIds, kMaskedPositions, kMaskedIds, kNspLabels };
constexpr int kNumFields = 6;

struct FieldSpec {
  const char* name;
  int rank;
  bool wide;         // int32 (true) or int8 (false) in memory and in files we write
  const char* dims;  // documented shape, for messages
};

constexpr std::array<FieldSpec, kNumFields> kFields = {{
    {"input_ids", 2, true, "[N, max_seq_length]"},
    {"input_mask", 2, false, "[N, max_seq_length]"},
    {"segment_ids", 2, false, "[N, max_seq_length]"},
    {"masked_lm_positions", 2, true, "[N, max_predictions_per_seq]"},
    {"masked_lm_ids", 2, true, "[N, max_predictions_per_seq]"},
    {"next_sentence_labels", 1, false, "[N]"},
}};

const char* dtype_name(const FieldSpec& f) {
  return f.wide ? "int32" : "int8";
}
hid_t mem_type(const FieldSpec& f) {
  return f.wide ? H5T_NATIVE_INT32 : H5T_NATIVE_INT8;
}
hid_t file_type(const FieldSpec& f) {
  return f.wide ? H5T_STD_I32LE : H5T_STD_I8LE;
}

std::string expected(const FieldSpec& f) {
  return fmt::format("expected integer ({} in the NVIDIA layout) {}", dtype_name(f), f.dims);
}

std::string class_name(H5T_class_t c) {
  switch (c) {
    case H5T_FLOAT:
      return "float";
    case H5T_STRING:
      return "string";
    case H5T_ENUM:
      return "enum (e.g. bool)";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ARRAY:
      return "array";
    default:
      return fmt::format("HDF5 type class {}", static_cast<int>(c));
  }
}

// Pointer to the buffer of `field` in a block, resized for `rows` rows of width `width`.
void* field_buffer(InstanceBlock& b, int field, size_t n) {
  switch (field) {
    case kInputIds:
      b.input_ids.resize(n);
      return b.input_ids.data();
    case kInputMask:
      b.input_mask.resize(n);
      return b.input_mask.data();
    case kSegmentIds:
      b.segment_ids.resize(n);
      return b.segment_ids.data();
    case kMaskedPositions:
      b.masked_lm_positions.resize(n);
      return b.masked_lm_positions.data();
    case kMaskedIds:
      b.masked_lm_ids.resize(n);
      return b.masked_lm_ids.data();
    default:
      b.next_sentence_labels.resize(n);
      return b.next_sentence_labels.data();
  }
}

// Read-only view of `field` in a block: data pointer and element size in bytes.
std::pair<const uint8_t*, size_t> field_bytes(const InstanceBlock& b, int field) {
  switch (field) {
    case kInputIds:
      return {reinterpret_cast<const uint8_t*>(b.input_ids.data()), 4};
    case kInputMask:
      return {reinterpret_cast<const uint8_t*>(b.input_mask.data()), 1};
    case kSegmentIds:
      return {reinterpret_cast<const uint8_t*>(b.segment_ids.data()), 1};
    case kMaskedPositions:
      return {reinterpret_cast<const uint8_t*>(b.masked_lm_positions.data()), 4};
    case kMaskedIds:
      return {reinterpret_cast<const uint8_t*>(b.masked_lm_ids.data()), 4};
    default:
      return {reinterpret_cast<const uint8_t*>(b.next_sentence_labels.data()), 1};
  }
}

// Drops the first `rows` rows of every field of a block.
void drop_rows(InstanceBlock& b, int64_t rows) {
  auto cut = [](auto& v, size_t n) { v.erase(v.begin(), v.begin() + static_cast<ptrdiff_t>(n)); };
  const size_t r = static_cast<size_t>(rows);
  cut(b.input_ids, r * b.seq_len);
  cut(b.input_mask, r * b.seq_len);
  cut(b.segment_ids, r * b.seq_len);
  cut(b.masked_lm_positions, r * b.max_predictions);
  cut(b.masked_lm_ids, r * b.max_predictions);
  cut(b.next_sentence_labels, r);
  b.count -= rows;
}

int field_width(int field, int seq_len, int max_predictions) {
  if (field == kNspLabels) return 1;
  return field <= kSegmentIds ? seq_len : max_predictions;
}

// Compact and contiguous datasets store exactly N x width values of their type. HDF5 1.10 trusts
// a compact dataset's declared size when reading and copies past a smaller buffer (a heap
// overflow on a corrupt shard, found by tests/fuzz), so a size that does not match the shape is
// rejected before any read. Chunked storage is compressed, so its size says nothing; storage
// never written (contiguous, size 0) reads as fill values. The layout is inferred without
// H5Dget_create_plist: on a corrupt fill-value message its copy frees memory that HDF5's object
// header cache still uses (a use-after-free, also found by tests/fuzz).
void check_storage_size(hid_t ds, hid_t type, const hsize_t* dims, int rank,
                        const std::string& path, const char* name) {
  // Succeeds only on chunked storage (the chunk at the origin, written or not).
  const hsize_t origin[2] = {0, 0};
  hsize_t chunk_bytes = 0;
  const bool chunked = H5Dget_chunk_storage_size(ds, origin, &chunk_bytes) >= 0;
  H5Eclear2(H5E_DEFAULT);
  if (chunked) return;
  H5D_space_status_t status = H5D_SPACE_STATUS_ERROR;
  H5Dget_space_status(ds, &status);
  H5Eclear2(H5E_DEFAULT);
  const hsize_t stored = H5Dget_storage_size(ds);
  hsize_t values = 0, bytes = 0;
  const bool fits = !__builtin_mul_overflow(dims[0], rank == 2 ? dims[1] : 1, &values) &&
                    !__builtin_mul_overflow(values, H5Tget_size(type), &bytes);
  KD_CHECK_HINT(
      fits && (stored == bytes || (stored == 0 && status == H5D_SPACE_STATUS_NOT_ALLOCATED)),
      "re-create the shard with kdprune-prep or re-download it",
      "shard file '{}': dataset '{}' is corrupt: storage of {} bytes for {} values of {} "
      "bytes",
      path, name, stored, values, H5Tget_size(type));
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// ShardReader

struct ShardReader::Handles {
  h5::Id file;
  std::array<h5::Id, kNumFields> datasets;
};

ShardReader::ShardReader(const std::string& path) : path_(path), h_(std::make_unique<Handles>()) {
  // libhdf5 1.10.8 can crash on a corrupt file as it opens it (docs/fuzzing.md, open finding):
  // the fatal-signal line then names the file.
  CrashContext crash_context("opening shard '" + path + "'");
  h5::silence_errors();
  std::error_code ec;
  KD_CHECK_HINT(fs::is_regular_file(path, ec), "check the data.train file list in the config",
                "shard file '{}' does not exist or is not a regular file", path);
  const auto bytes = fs::file_size(path, ec);
  htri_t is_h5 = H5Fis_hdf5(path.c_str());
  H5Eclear2(H5E_DEFAULT);
  KD_CHECK_HINT(is_h5 > 0, "re-create the shard with kdprune-prep or re-download it",
                "shard file '{}' ({} bytes) is not an HDF5 file (no HDF5 signature; empty, "
                "truncated at the start, or another format)",
                path, bytes);
  h_->file = h5::Id(KD_H5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                          "cannot open shard file '{}' ({} bytes) as HDF5; it is corrupt or "
                          "truncated (re-create or re-download it)",
                          path, bytes));

  int64_t n = -1;
  for (int f = 0; f < kNumFields; ++f) {
    const FieldSpec& spec = kFields[f];
    htri_t exists = H5Lexists(h_->file, spec.name, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    KD_CHECK_HINT(exists > 0, "shards must follow the NVIDIA BERT layout (docs/formats.md)",
                  "shard file '{}' has no dataset '{}' ({})", path, spec.name, expected(spec));
    h5::Id ds(KD_H5(H5Dopen2(h_->file, spec.name, H5P_DEFAULT),
                    "shard file '{}': '{}' is not a readable dataset ({})", path, spec.name,
                    expected(spec)));
    h5::Id type(KD_H5(H5Dget_type(ds), "shard file '{}': dataset '{}': cannot read its type", path,
                      spec.name));
    H5T_class_t cls = H5Tget_class(type);
    KD_CHECK(cls == H5T_INTEGER, "shard file '{}': dataset '{}' has type {}, {}", path, spec.name,
             class_name(cls), expected(spec));
    h5::Id space(KD_H5(H5Dget_space(ds), "shard file '{}': dataset '{}': cannot read its shape",
                       path, spec.name));
    int rank = KD_H5(H5Sget_simple_extent_ndims(space),
                     "shard file '{}': dataset '{}': cannot read its rank", path, spec.name);
    KD_CHECK(rank == spec.rank, "shard file '{}': dataset '{}' has rank {}, {} (rank {})", path,
             spec.name, rank, expected(spec), spec.rank);
    hsize_t dims[2] = {0, 0};
    KD_H5(H5Sget_simple_extent_dims(space, dims, nullptr),
          "shard file '{}': dataset '{}': cannot read its shape", path, spec.name);
    std::string shape =
        rank == 2 ? fmt::format("[{}, {}]", dims[0], dims[1]) : fmt::format("[{}]", dims[0]);
    if (n < 0) {
      n = static_cast<int64_t>(dims[0]);
      KD_CHECK(n > 0,
               "shard file '{}': dataset '{}' has shape {}: the shard holds no instances "
               "(N must be > 0)",
               path, spec.name, shape);
    }
    KD_CHECK(static_cast<int64_t>(dims[0]) == n,
             "shard file '{}': dataset '{}' has shape {} but 'input_ids' has N = {} rows; every "
             "dataset must have the same first dimension N",
             path, spec.name, shape, n);
    if (f == kInputIds) {
      KD_CHECK(dims[1] > 0 && dims[1] <= (1u << 20),
               "shard file '{}': dataset 'input_ids' has shape {}, expected [N, max_seq_length] "
               "with max_seq_length > 0",
               path, shape);
      seq_len_ = static_cast<int>(dims[1]);
    } else if (f == kInputMask || f == kSegmentIds) {
      KD_CHECK(static_cast<int>(dims[1]) == seq_len_,
               "shard file '{}': dataset '{}' has shape {}, expected [{}, {}] like 'input_ids'",
               path, spec.name, shape, n, seq_len_);
    } else if (f == kMaskedPositions) {
      KD_CHECK(dims[1] > 0 && static_cast<int>(dims[1]) <= seq_len_,
               "shard file '{}': dataset 'masked_lm_positions' has shape {}, expected [N, "
               "max_predictions_per_seq] with 0 < max_predictions_per_seq <= max_seq_length ({})",
               path, shape, seq_len_);
      max_predictions_ = static_cast<int>(dims[1]);
    } else if (f == kMaskedIds) {
      KD_CHECK(static_cast<int>(dims[1]) == max_predictions_,
               "shard file '{}': dataset 'masked_lm_ids' has shape {}, expected [{}, {}] like "
               "'masked_lm_positions'",
               path, shape, n, max_predictions_);
    }
    check_storage_size(ds, type, dims, rank, path, spec.name);
    h_->datasets[f] = std::move(ds);
  }
  size_ = n;
  max_token_id_ = h5::read_int64_attribute(h_->file, "max_token_id", path);
}

ShardReader::~ShardReader() {
  if (h_) {
    for (auto& d : h_->datasets) d.reset();
    h_->file.reset();
  }
}

InstanceBlock ShardReader::read(int64_t begin, int64_t count) const {
  h5::silence_errors();
  KD_CHECK(begin >= 0 && count >= 0 && begin + count <= size_,
           "shard file '{}': rows [{}, {}) requested but the shard has {} rows", path_, begin,
           begin + count, size_);
  InstanceBlock b;
  b.count = count;
  b.seq_len = seq_len_;
  b.max_predictions = max_predictions_;
  for (int f = 0; f < kNumFields; ++f) {
    const FieldSpec& spec = kFields[f];
    const hsize_t width = static_cast<hsize_t>(field_width(f, seq_len_, max_predictions_));
    void* buf = field_buffer(b, f, static_cast<size_t>(count) * width);
    if (count == 0) continue;
    const hid_t ds = h_->datasets[f];
    h5::Id fspace(
        KD_H5(H5Dget_space(ds), "shard file '{}': dataset '{}': no dataspace", path_, spec.name));
    hsize_t start[2] = {static_cast<hsize_t>(begin), 0};
    hsize_t cnt[2] = {static_cast<hsize_t>(count), width};
    KD_H5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, cnt, nullptr),
          "shard file '{}': dataset '{}': cannot select rows [{}, {})", path_, spec.name, begin,
          begin + count);
    h5::Id mspace(KD_H5(H5Screate_simple(spec.rank, cnt, nullptr),
                        "shard file '{}': dataset '{}': cannot create memory space", path_,
                        spec.name));
    // H5Dread converts any integer file type (h5py's int64, uint8, ...) to our memory type.
    KD_H5(H5Dread(ds, mem_type(spec), mspace, fspace, H5P_DEFAULT, buf),
          "shard file '{}': dataset '{}': reading rows [{}, {}) failed (corrupt or truncated "
          "file?)",
          path_, spec.name, begin, begin + count);
  }
  return b;
}

// ------------------------------------------------------------------------------------------------
// ShardWriter

namespace {
constexpr int64_t kFlushChunks = 16;  // chunks per field compressed together (parallel work)
}

struct ShardWriter::Handles {
  h5::Id file;
  std::array<h5::Id, kNumFields> datasets;
  void close_all() noexcept {
    for (auto& d : datasets) d.reset();
    file.reset();
  }
};

ShardWriter::ShardWriter(const std::string& path, int seq_len, int max_predictions, int gzip_level,
                         unsigned compress_threads)
    : path_(path),
      seq_len_(seq_len),
      max_predictions_(max_predictions),
      gzip_level_(gzip_level),
      threads_(std::max(1u, compress_threads)),
      h_(std::make_unique<Handles>()) {
  h5::silence_errors();
  KD_CHECK(seq_len > 0 && max_predictions > 0 && max_predictions <= seq_len,
           "ShardWriter '{}': need 0 < max_predictions ({}) <= seq_len ({})", path, max_predictions,
           seq_len);
  KD_CHECK(gzip_level >= 0 && gzip_level <= 9, "ShardWriter '{}': gzip level {} not in [0, 9]",
           path, gzip_level);
  pending_.seq_len = seq_len;
  pending_.max_predictions = max_predictions;
  const std::string partial = path + ".partial";
  fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  KD_CHECK_HINT(parent.empty() || fs::is_directory(parent, ec), "create the output directory",
                "ShardWriter: directory '{}' of '{}' does not exist", parent.string(), path);
  h_->file = h5::Id(KD_H5(H5Fcreate(partial.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                          "cannot create shard file '{}'", partial));
  // Chunks of ~256 KiB of int32 rows: large enough for gzip, small enough for HDF5's 1 MiB
  // default chunk cache when readers select row ranges.
  chunk_rows_ = std::max<int64_t>(1, std::min<int64_t>(1024, (256 * 1024) / (4 * seq_len)));
  const auto chunk_rows = static_cast<hsize_t>(chunk_rows_);
  for (int f = 0; f < kNumFields; ++f) {
    const FieldSpec& spec = kFields[f];
    const hsize_t width = static_cast<hsize_t>(field_width(f, seq_len, max_predictions));
    hsize_t dims[2] = {0, width};
    hsize_t maxdims[2] = {H5S_UNLIMITED, width};
    hsize_t chunk[2] = {chunk_rows, width};  // the same rows for every field: see flush()
    h5::Id space(KD_H5(H5Screate_simple(spec.rank, dims, maxdims), "'{}': dataspace for '{}'",
                       partial, spec.name));
    h5::Id dcpl(KD_H5(H5Pcreate(H5P_DATASET_CREATE), "'{}': property list", partial));
    KD_H5(H5Pset_chunk(dcpl, spec.rank, chunk), "'{}': chunking for '{}'", partial, spec.name);
    if (gzip_level > 0) {
      KD_H5(H5Pset_shuffle(dcpl), "'{}': shuffle filter for '{}'", partial, spec.name);
      KD_H5(H5Pset_deflate(dcpl, static_cast<unsigned>(gzip_level)), "'{}': gzip for '{}'", partial,
            spec.name);
    }
    h_->datasets[f] = h5::Id(KD_H5(
        H5Dcreate2(h_->file, spec.name, file_type(spec), space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
        "'{}': cannot create dataset '{}'", partial, spec.name));
  }
}

ShardWriter::~ShardWriter() {
  if (closed_) return;
  h_->close_all();
  std::error_code ec;
  fs::remove(path_ + ".partial", ec);
}

void ShardWriter::append(const Instance& in) {
  KD_CHECK(!closed_, "ShardWriter '{}': append after close()", path_);
  const size_t T = static_cast<size_t>(seq_len_), P = static_cast<size_t>(max_predictions_);
  KD_CHECK(in.input_ids.size() == T && in.input_mask.size() == T && in.segment_ids.size() == T,
           "ShardWriter '{}': instance {} has input_ids/input_mask/segment_ids lengths {}/{}/{}, "
           "expected {} (max_seq_length)",
           path_, size(), in.input_ids.size(), in.input_mask.size(), in.segment_ids.size(), T);
  KD_CHECK(in.masked_lm_positions.size() == P && in.masked_lm_ids.size() == P,
           "ShardWriter '{}': instance {} has masked_lm_positions/masked_lm_ids lengths {}/{}, "
           "expected {} (max_predictions_per_seq; pad with 0)",
           path_, size(), in.masked_lm_positions.size(), in.masked_lm_ids.size(), P);
  for (int32_t p : in.masked_lm_positions)
    KD_CHECK(p >= 0 && p < seq_len_,
             "ShardWriter '{}': instance {} has masked_lm_position {} outside [0, {})", path_,
             size(), p, seq_len_);
  auto push = [](auto& dst, const auto& src) { dst.insert(dst.end(), src.begin(), src.end()); };
  for (const auto* ids : {&in.input_ids, &in.masked_lm_ids})
    for (int32_t id : *ids) max_token_id_ = std::max<int64_t>(max_token_id_, id);
  push(pending_.input_ids, in.input_ids);
  push(pending_.input_mask, in.input_mask);
  push(pending_.segment_ids, in.segment_ids);
  push(pending_.masked_lm_positions, in.masked_lm_positions);
  push(pending_.masked_lm_ids, in.masked_lm_ids);
  pending_.next_sentence_labels.push_back(in.next_sentence_label);
  ++pending_.count;
  if (pending_.count >= kFlushChunks * chunk_rows_) flush(false);
}

void ShardWriter::append_unpadded(const int32_t* tokens, size_t n, size_t segment_a_end,
                                  const int32_t* positions, const int32_t* ids, size_t npred,
                                  int8_t next_sentence_label) {
  KD_CHECK(!closed_, "ShardWriter '{}': append after close()", path_);
  const size_t T = static_cast<size_t>(seq_len_), P = static_cast<size_t>(max_predictions_);
  KD_CHECK(n <= T && npred <= P,
           "ShardWriter '{}': instance {} has {} tokens / {} predictions, more than {} / {}", path_,
           size(), n, npred, T, P);
  for (size_t k = 0; k < npred; ++k)
    KD_CHECK(positions[k] >= 0 && positions[k] < seq_len_,
             "ShardWriter '{}': instance {} has masked_lm_position {} outside [0, {})", path_,
             size(), positions[k], seq_len_);
  auto grow = [](auto& v, size_t by) {
    v.resize(v.size() + by, 0);
    return v.data() + v.size() - by;
  };
  for (size_t k = 0; k < n; ++k) max_token_id_ = std::max<int64_t>(max_token_id_, tokens[k]);
  for (size_t k = 0; k < npred; ++k) max_token_id_ = std::max<int64_t>(max_token_id_, ids[k]);
  int32_t* ids_row = grow(pending_.input_ids, T);
  int8_t* mask_row = grow(pending_.input_mask, T);
  int8_t* seg_row = grow(pending_.segment_ids, T);
  std::memcpy(ids_row, tokens, n * sizeof(int32_t));
  std::memset(mask_row, 1, n);
  for (size_t i = segment_a_end + 1; i < n; ++i) seg_row[i] = 1;
  std::memcpy(grow(pending_.masked_lm_positions, P), positions, npred * sizeof(int32_t));
  std::memcpy(grow(pending_.masked_lm_ids, P), ids, npred * sizeof(int32_t));
  pending_.next_sentence_labels.push_back(next_sentence_label);
  ++pending_.count;
  if (pending_.count >= kFlushChunks * chunk_rows_) flush(false);
}

// Writes the pending rows in whole chunks (all of them when `final`, the last chunk zero-padded
// beyond the dataset's extent). Chunks are encoded as HDF5's shuffle + deflate filters would
// encode them, on threads_ threads, then stored with H5Dwrite_chunk in order.
void ShardWriter::flush(bool final) {
  const int64_t chunks =
      final ? (pending_.count + chunk_rows_ - 1) / chunk_rows_ : pending_.count / chunk_rows_;
  if (chunks == 0) return;
  const int64_t rows = final ? pending_.count : chunks * chunk_rows_;
  const std::string partial = path_ + ".partial";
  std::vector<std::vector<uint8_t>> encoded(static_cast<size_t>(chunks * kNumFields));
  run_parallel(encoded.size(), threads_, [&](size_t task) {
    const int64_t c = static_cast<int64_t>(task) / kNumFields;
    const int f = static_cast<int>(task % kNumFields);
    const size_t width = static_cast<size_t>(field_width(f, seq_len_, max_predictions_));
    const auto [data, elem] = field_bytes(pending_, f);
    const size_t row_bytes = width * elem, chunk_bytes = chunk_rows_ * row_bytes;
    const int64_t begin = c * chunk_rows_, n = std::min(chunk_rows_, rows - begin);
    std::vector<uint8_t> raw(chunk_bytes, 0);  // zero padding past the last row
    std::memcpy(raw.data(), data + begin * row_bytes, n * row_bytes);
    encoded[task] = gzip_level_ > 0 ? shuffle_deflate(raw.data(), chunk_bytes, elem, gzip_level_)
                                    : std::move(raw);
  });
  for (int f = 0; f < kNumFields; ++f) {
    const FieldSpec& spec = kFields[f];
    const hid_t ds = h_->datasets[f];
    const auto width = static_cast<hsize_t>(field_width(f, seq_len_, max_predictions_));
    hsize_t new_dims[2] = {static_cast<hsize_t>(written_ + rows), width};
    KD_H5(H5Dset_extent(ds, new_dims), "'{}': cannot extend dataset '{}'", partial, spec.name);
    for (int64_t c = 0; c < chunks; ++c) {
      const auto& chunk = encoded[static_cast<size_t>(c * kNumFields + f)];
      hsize_t offset[2] = {static_cast<hsize_t>(written_ + c * chunk_rows_), 0};
      KD_H5(H5Dwrite_chunk(ds, H5P_DEFAULT, /*filters applied: all*/ 0, offset, chunk.size(),
                           chunk.data()),
            "'{}': writing a chunk of '{}' failed (disk full?)", partial, spec.name);
    }
  }
  written_ += rows;
  drop_rows(pending_, rows);
}

void ShardWriter::close() {
  if (closed_) return;
  KD_CHECK_HINT(size() > 0, "skip empty shards: readers reject files with N = 0",
                "ShardWriter '{}': close() with no instances appended", path_);
  flush(true);
  const std::string partial = path_ + ".partial";
  for (int f = 0; f < kNumFields; ++f)
    KD_H5(h_->datasets[f].close(), "'{}': closing dataset '{}'", partial, kFields[f].name);
  h5::write_int64_attribute(h_->file, "max_token_id", max_token_id_, partial);
  KD_H5(H5Fflush(h_->file, H5F_SCOPE_LOCAL), "'{}': flushing the file failed (disk full?)",
        partial);
  KD_H5(h_->file.close(), "'{}': closing the file failed (disk full?)", partial);
  std::error_code ec;
  fs::rename(partial, path_, ec);
  KD_CHECK(!ec, "ShardWriter: cannot rename '{}' to '{}': {}", partial, path_, ec.message());
  closed_ = true;
}

}  // namespace kd::data

// ShardWriter -> ShardReader round trips on real files, and every validation error of the reader
// on files built with the HDF5 C API (the layout checks must name the file and the dataset).
#include "data/shard_format.h"
#include "data/chunk_codec.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "common/check.h"
#include "common/signals.h"
#include "data/shard_test_sizes.h"
#include "data/shard_test_util.h"
#include "support/test_support.h"

namespace kd::data {
namespace {
namespace fs = std::filesystem;

// A dataset to put in a hand-made file: name, HDF5 file type, dims.
struct Spec {
  std::string name;
  hid_t type;
  std::vector<hsize_t> dims;
};

std::vector<Spec> good_specs(hsize_t n, hid_t wide = H5T_STD_I32LE, hid_t narrow = H5T_STD_I8LE) {
  return {{"input_ids", wide, {n, T}},     {"input_mask", narrow, {n, T}},
          {"segment_ids", narrow, {n, T}}, {"masked_lm_positions", wide, {n, P}},
          {"masked_lm_ids", wide, {n, P}}, {"next_sentence_labels", narrow, {n}}};
}

// Writes datasets (contiguous, values = (row % 6) * 20 + col, small enough for int8) with the
// HDF5 C API, independently of ShardWriter.
void write_raw(const std::string& path, const std::vector<Spec>& specs) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  for (const auto& s : specs) {
    hid_t space = H5Screate_simple(static_cast<int>(s.dims.size()), s.dims.data(), nullptr);
    hid_t ds =
        H5Dcreate2(file, s.name.c_str(), s.type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(ds, 0) << s.name;
    hsize_t total = 1;
    for (auto d : s.dims) total *= d;
    const hsize_t width = s.dims.size() == 2 ? s.dims[1] : 1;
    std::vector<int64_t> values(total);
    for (hsize_t i = 0; i < total; ++i)
      values[i] = static_cast<int64_t>((i / width) % 6 * 20 + i % width);
    if (total > 0) {
      ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
    }
    H5Dclose(ds);
    H5Sclose(space);
  }
  H5Fclose(file);
}

// Expects ShardReader(path) to throw kd::Error whose message contains every substring.
void expect_open_error(const std::string& path, const std::vector<std::string>& substrings) {
  try {
    ShardReader r(path);
    FAIL() << "no error for " << path;
  } catch (const kd::Error& e) {
    const std::string msg = e.what();
    ::testing::Test::RecordProperty("error", msg);  // visible with --gtest_output=xml
    for (const auto& s : substrings)
      EXPECT_NE(msg.find(s), std::string::npos) << s << " not in: " << msg;
  }
}

void expect_same(const Instance& in, const InstanceBlock& b, int64_t row) {
  for (int t = 0; t < T; ++t) {
    ASSERT_EQ(b.input_ids[row * T + t], in.input_ids[t]) << row << "," << t;
    ASSERT_EQ(b.input_mask[row * T + t], in.input_mask[t]);
    ASSERT_EQ(b.segment_ids[row * T + t], in.segment_ids[t]);
  }
  for (int p = 0; p < P; ++p) {
    ASSERT_EQ(b.masked_lm_positions[row * P + p], in.masked_lm_positions[p]);
    ASSERT_EQ(b.masked_lm_ids[row * P + p], in.masked_lm_ids[p]);
  }
  ASSERT_EQ(b.next_sentence_labels[row], in.next_sentence_label);
}

TEST(ShardFormat, RoundTripAcrossFlushes) {
  const std::string dir = test::temp_dir("shard_rt");
  const std::string path = dir + "/a.hdf5";
  const int64_t n = 2500;  // > 2 buffered flushes of 1024 rows
  test::write_shard(path, 0, n, T, P, 4);
  EXPECT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".partial"));

  ShardReader r(path);
  EXPECT_EQ(r.size(), n);
  EXPECT_EQ(r.seq_len(), T);
  EXPECT_EQ(r.max_predictions(), P);
  InstanceBlock all = r.read(0, n);
  ASSERT_EQ(all.count, n);
  ASSERT_EQ(all.input_ids.size(), static_cast<size_t>(n * T));
  for (int64_t i = 0; i < n; ++i) expect_same(test::make_instance(i, T, P), all, i);
  // A range crossing chunk and flush boundaries.
  InstanceBlock mid = r.read(1000, 300);
  ASSERT_EQ(mid.count, 300);
  for (int64_t i = 0; i < 300; ++i) expect_same(test::make_instance(1000 + i, T, P), mid, i);
  EXPECT_EQ(r.read(n, 0).count, 0);
  EXPECT_THROW(r.read(n - 1, 2), kd::Error);
  EXPECT_THROW(r.read(-1, 1), kd::Error);
}

TEST(ShardFormat, ThreadedChunkCompressionRoundTrips) {
  // T=16: 1024-row chunks, a flush every 16 chunks; 40,000 rows = 2 flushes + a padded tail.
  const std::string dir = test::temp_dir("shard_threads");
  const int64_t n = 40000;
  for (auto [gzip, threads] : {std::pair<int, unsigned>{4, 3}, {0, 2}, {1, 1}}) {
    const std::string path = dir + fmt::format("/g{}t{}.h5", gzip, threads);
    test::write_shard(path, 5, n, T, P, gzip, threads);
    ShardReader r(path);
    ASSERT_EQ(r.size(), n);
    InstanceBlock all = r.read(0, n);
    for (int64_t i = 0; i < n; i += 7) expect_same(test::make_instance(5 + i, T, P), all, i);
    expect_same(test::make_instance(5 + n - 1, T, P), all, n - 1);
  }
}

TEST(ChunkCodec, ShuffleDeflateIsHdf5sEncoding) {
  // Round trip, including a tail shorter than one element.
  std::vector<int32_t> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(i * 7919 % 30522);
  const size_t bytes = v.size() * 4 - 2;
  auto enc = shuffle_deflate(v.data(), bytes, 4, 6);
  auto dec = inflate_unshuffle(enc, bytes, 4);
  ASSERT_EQ(dec.size(), bytes);
  EXPECT_EQ(std::memcmp(dec.data(), v.data(), bytes), 0);
  EXPECT_LT(enc.size(), bytes / 2);  // shuffling exposes the zero high bytes
  // Byte order after the shuffle: all low bytes first (checked through an uncompressed level).
  std::vector<int32_t> two{0x04030201, 0x08070605};
  auto raw = inflate_unshuffle(shuffle_deflate(two.data(), 8, 4, 1), 8, 4);
  EXPECT_EQ(std::memcmp(raw.data(), two.data(), 8), 0);
}

TEST(ShardFormat, WrittenLayoutMatchesNvidia) {
  const std::string path = test::temp_dir("shard_layout") + "/a.hdf5";
  test::write_shard(path, 0, 10, T, P);
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  for (const auto& s : good_specs(10)) {
    hid_t ds = H5Dopen2(file, s.name.c_str(), H5P_DEFAULT);
    ASSERT_GE(ds, 0) << s.name;
    hid_t type = H5Dget_type(ds);
    EXPECT_GT(H5Tequal(type, s.type), 0) << s.name;
    hid_t plist = H5Dget_create_plist(ds);
    EXPECT_EQ(H5Pget_layout(plist), H5D_CHUNKED) << s.name;
    bool has_deflate = false;
    for (int i = 0; i < H5Pget_nfilters(plist); ++i) {
      unsigned flags;
      size_t nelem = 0;
      if (H5Pget_filter2(plist, i, &flags, &nelem, nullptr, 0, nullptr, nullptr) ==
          H5Z_FILTER_DEFLATE)
        has_deflate = true;
    }
    EXPECT_TRUE(has_deflate) << s.name;
    hid_t space = H5Dget_space(ds);
    hsize_t dims[2], maxdims[2];
    int rank = H5Sget_simple_extent_dims(space, dims, maxdims);
    ASSERT_EQ(rank, static_cast<int>(s.dims.size()));
    EXPECT_EQ(dims[0], 10u);
    EXPECT_EQ(maxdims[0], H5S_UNLIMITED);
    if (rank == 2) {
      EXPECT_EQ(dims[1], s.dims[1]);
    }
    H5Sclose(space);
    H5Pclose(plist);
    H5Tclose(type);
    H5Dclose(ds);
  }
  H5Fclose(file);
}

TEST(ShardFormat, WriterWithoutCloseRemovesPartial) {
  const std::string dir = test::temp_dir("shard_partial");
  const std::string path = dir + "/a.hdf5";
  {
    ShardWriter w(path, T, P);
    for (int i = 0; i < 1500; ++i) w.append(test::make_instance(i, T, P));
    EXPECT_TRUE(fs::exists(path + ".partial"));
    EXPECT_FALSE(fs::exists(path));
    EXPECT_EQ(w.size(), 1500);
  }
  EXPECT_FALSE(fs::exists(path + ".partial"));
  EXPECT_FALSE(fs::exists(path));
}

TEST(ShardFormat, WriterValidatesLengths) {
  const std::string path = test::temp_dir("shard_len") + "/a.hdf5";
  ShardWriter w(path, T, P);
  Instance in = test::make_instance(0, T, P);
  Instance bad = in;
  bad.input_mask.pop_back();
  try {
    w.append(bad);
    FAIL();
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected 16"), std::string::npos) << e.what();
  }
  bad = in;
  bad.masked_lm_ids.push_back(0);
  EXPECT_THROW(w.append(bad), kd::Error);
  bad = in;
  bad.masked_lm_positions[0] = T;
  EXPECT_THROW(w.append(bad), kd::Error);
  EXPECT_EQ(w.size(), 0);
  EXPECT_THROW(w.close(), kd::Error);  // no instances
  EXPECT_THROW(ShardWriter(path + "x", 8, 9), kd::Error);
  EXPECT_THROW(ShardWriter(test::temp_dir("x") + "/no/such/dir/a.hdf5", T, P), kd::Error);
}

TEST(ShardFormat, AcceptsOtherIntegerWidths) {
  // h5py writes numpy's default int64 (and sometimes uint8/bool-like int8): converted on read.
  const std::string path = test::temp_dir("shard_i64") + "/a.hdf5";
  write_raw(path, good_specs(7, H5T_STD_I64LE, H5T_STD_U8LE));
  ShardReader r(path);
  EXPECT_EQ(r.size(), 7);
  InstanceBlock b = r.read(2, 3);
  EXPECT_EQ(b.input_ids[0], 40);              // row 2, col 0
  EXPECT_EQ(b.input_ids[T + 5], 65);          // row 3, col 5
  EXPECT_EQ(b.masked_lm_ids[2 * P + 3], 83);  // row 4, col 3
  EXPECT_EQ(b.input_mask[T + 2], 62);         // uint8 -> int8
  EXPECT_EQ(b.next_sentence_labels[1], 60);
}

TEST(ShardFormat, MissingDataset) {
  const std::string path = test::temp_dir("shard_bad") + "/missing.hdf5";
  auto specs = good_specs(5);
  specs.erase(specs.begin() + 4);  // masked_lm_ids
  write_raw(path, specs);
  expect_open_error(path, {path, "masked_lm_ids", "no dataset", "int32"});
}

TEST(ShardFormat, WrongRank) {
  const std::string path = test::temp_dir("shard_bad") + "/rank.hdf5";
  auto specs = good_specs(5);
  specs[1].dims = {5 * T};  // input_mask flattened
  write_raw(path, specs);
  expect_open_error(path, {path, "input_mask", "rank 1", "[N, max_seq_length]"});
}

TEST(ShardFormat, WrongShape) {
  const std::string dir = test::temp_dir("shard_bad");
  auto specs = good_specs(5);
  specs[2].dims = {5, T + 1};  // segment_ids
  write_raw(dir + "/shape.hdf5", specs);
  expect_open_error(dir + "/shape.hdf5",
                    {dir + "/shape.hdf5", "segment_ids", "[5, 17]", "[5, 16]"});

  specs = good_specs(5);
  specs[4].dims = {5, P + 2};  // masked_lm_ids vs masked_lm_positions
  write_raw(dir + "/p.hdf5", specs);
  expect_open_error(dir + "/p.hdf5", {dir + "/p.hdf5", "masked_lm_ids", "[5, 6]", "[5, 4]"});
}

TEST(ShardFormat, MismatchedN) {
  const std::string path = test::temp_dir("shard_bad") + "/n.hdf5";
  auto specs = good_specs(5);
  specs[5].dims = {4};  // next_sentence_labels
  write_raw(path, specs);
  expect_open_error(path, {path, "next_sentence_labels", "[4]", "N = 5"});
}

TEST(ShardFormat, EmptyShardAndFloatType) {
  const std::string dir = test::temp_dir("shard_bad");
  write_raw(dir + "/empty.hdf5", good_specs(0));
  expect_open_error(dir + "/empty.hdf5", {dir + "/empty.hdf5", "input_ids", "no instances"});
  auto specs = good_specs(5);
  specs[3].type = H5T_IEEE_F32LE;  // masked_lm_positions
  write_raw(dir + "/float.hdf5", specs);
  expect_open_error(dir + "/float.hdf5", {dir + "/float.hdf5", "masked_lm_positions", "float"});
}

TEST(ShardFormat, NotHdf5AndMissingFile) {
  const std::string dir = test::temp_dir("shard_bad");
  { std::ofstream(dir + "/text.hdf5") << "input_ids,input_mask\n1,2\n"; }
  expect_open_error(dir + "/text.hdf5", {dir + "/text.hdf5", "not an HDF5 file"});
  { std::ofstream(dir + "/zero.hdf5"); }
  expect_open_error(dir + "/zero.hdf5", {dir + "/zero.hdf5", "not an HDF5 file"});
  expect_open_error(dir + "/absent.hdf5", {dir + "/absent.hdf5", "does not exist"});
}

TEST(ShardFormat, TruncatedFile) {
  const std::string dir = test::temp_dir("shard_trunc");
  test::write_shard(dir + "/good.hdf5", 0, 3000, T, P);
  const auto size = fs::file_size(dir + "/good.hdf5");
  for (double frac : {0.5, 0.98}) {
    const std::string cut = dir + "/cut" + std::to_string(static_cast<int>(frac * 100)) + ".hdf5";
    fs::copy_file(dir + "/good.hdf5", cut);
    fs::resize_file(cut, static_cast<uintmax_t>(static_cast<double>(size) * frac));
    expect_open_error(cut, {cut, "truncated"});
  }
}

// The open libhdf5 finding (docs/fuzzing.md): HDF5 1.10 copies a corrupt local heap into the
// NULL that malloc returned (SIGSEGV; under ASan its report and SIGABRT). kdprune cannot prevent
// the crash, but its fatal-signal line names the file. HDF5 1.14 (Debian 13,
// scripts/check-libtorch2.sh) no longer crashes: the file then reads as having no datasets, a
// clean error naming it.
TEST(ShardFormatDeathTest, ACrashInsideHdf5WhileOpeningNamesTheShard) {
  const std::string file = test::source_path("tests/fuzz/open/fuzz_shard_hdf5_null_heap.shard");
#if H5_VERSION_GE(1, 14, 0)
  expect_open_error(file, {file, "has no dataset"});
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        install_fatal_signal_handlers();
        ShardReader reader(file);
      },
      "received SIG[A-Z]+.* while opening shard '.*fuzz_shard_hdf5_null_heap.shard'");
#endif
}

// Found by tests/fuzz (fuzz_shard): a compact dataset whose header declares 5-byte integers
// over 3 bytes of stored data made HDF5 1.10's H5Dread copy past its buffer (heap overflow).
// The reader now rejects storage that does not match the shape when the file opens. HDF5 1.14
// already refuses the 5-byte type when it decodes it; the error then carries HDF5's message.
TEST(ShardFormat, CompactStorageSmallerThanShape) {
  const std::string path = test::temp_dir("shard_compact") + "/bad.h5";
  fs::copy_file(test::source_path("tests/data/fixtures/compact_size_mismatch.shard"), path,
                fs::copy_options::overwrite_existing);
#if H5_VERSION_GE(1, 14, 0)
  expect_open_error(path, {path, "segment_ids", "HDF5: datatype has unusually large"});
#else
  expect_open_error(path, {path, "segment_ids", "storage of 3 bytes"});
#endif
}

TEST(ShardFormat, ReadsH5pyFile) {
  // A shard written by h5py the way NVIDIA's create_pretraining_data.py does (int32/int8, gzip),
  // plus int64 arrays as numpy defaults produce them.
  if (std::system("/usr/bin/python3 -c 'import h5py, numpy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with h5py not available";
  const std::string path = test::temp_dir("shard_h5py") + "/py.hdf5";
  const std::string cmd =
      "/usr/bin/python3 -c \"import h5py, numpy as np\n"
      "n, T, P = 6, 16, 4\n"
      "ids = np.arange(n * T).reshape(n, T)\n"
      "with h5py.File('" +
      path +
      "', 'w') as f:\n"
      "  f.create_dataset('input_ids', data=ids.astype('int32'), dtype='i4', compression='gzip')\n"
      "  f.create_dataset('input_mask', data=np.ones((n, T)), dtype='i1', compression='gzip')\n"
      "  f.create_dataset('segment_ids', data=np.zeros((n, T)), dtype='i1', compression='gzip')\n"
      "  f.create_dataset('masked_lm_positions', data=np.full((n, P), 3), compression='gzip')\n"
      "  f.create_dataset('masked_lm_ids', data=np.full((n, P), 7), compression='gzip')\n"
      "  f.create_dataset('next_sentence_labels', data=np.arange(n) % 2, dtype='i1')\n\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ShardReader r(path);
  EXPECT_EQ(r.size(), 6);
  InstanceBlock b = r.read(1, 5);
  EXPECT_EQ(b.input_ids[0], 16);
  EXPECT_EQ(b.input_ids[4 * T + 15], 5 * T + 15);
  EXPECT_EQ(b.masked_lm_positions[7], 3);
  EXPECT_EQ(b.masked_lm_ids[19], 7);
  EXPECT_EQ(b.next_sentence_labels[0], 1);
  EXPECT_EQ(b.next_sentence_labels[1], 0);
  EXPECT_FALSE(r.max_token_id().has_value());  // only kdprune-prep writes the attribute
}

TEST(ShardFormat, WriterRecordsTheLargestTokenId) {
  const std::string path = test::temp_dir("shard_max_id") + "/s.hdf5";
  ShardWriter w(path, T, P, 1);
  int64_t largest = 0;
  for (int64_t i = 0; i < 50; ++i) {
    const Instance in = test::make_instance(i, T, P);
    for (const auto* v : {&in.input_ids, &in.masked_lm_ids})
      for (int32_t id : *v) largest = std::max<int64_t>(largest, id);
    w.append(in);
  }
  const int32_t tokens[] = {101, 29999, 102}, positions[] = {1}, ids[] = {30100};
  w.append_unpadded(tokens, 3, 2, positions, ids, 1, 0);  // the label is the largest id
  w.close();
  EXPECT_LT(largest, 30100);
  EXPECT_EQ(ShardReader(path).max_token_id(), std::optional<int64_t>(30100));
}

}  // namespace
}  // namespace kd::data

// Writes the seed shards of fuzz_shard: with the real ShardWriter (exactly what kdprune-prep
// produces: chunked, shuffle + deflate, ~20 KB even for 3 rows, so scripts/fuzz.sh makes them
// instead of the repository keeping them), and with the HDF5 C API in compact layout and the
// newest file format (~2 KB, the committed seeds; h5py-style int64 ids, which the reader
// converts). Tiny shapes keep mutations fast.
//   make_shard_seeds OUT_DIR
#include <hdf5.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/shard_format.h"

namespace {

void write(const std::string& path, int rows, int T, int P, int gzip_level) {
  kd::data::ShardWriter w(path, T, P, gzip_level);
  for (int r = 0; r < rows; ++r) {
    kd::data::Instance in;
    in.input_ids.assign(T, 0);
    in.input_mask.assign(T, 0);
    in.segment_ids.assign(T, 0);
    for (int t = 0; t < T - 1; ++t) {
      in.input_ids[t] = t == 0 ? 101 : 1000 + 37 * r + t;
      in.input_mask[t] = 1;
      in.segment_ids[t] = t >= T / 2;
    }
    in.masked_lm_positions.assign(P, 0);
    in.masked_lm_ids.assign(P, 0);
    in.masked_lm_positions[0] = 1 + r % (T - 2);
    in.masked_lm_ids[0] = 2000 + r;
    in.next_sentence_label = static_cast<int8_t>(r % 2);
    w.append(in);
  }
  w.close();
}

// One dataset in compact layout (stored in its object header: no chunk index, small file).
void compact_dataset(hid_t file, const char* name, hid_t type, int rank, const hsize_t* dims,
                     const std::vector<int64_t>& values) {
  hid_t space = H5Screate_simple(rank, dims, nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_layout(dcpl, H5D_COMPACT);
  hid_t ds = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
    std::fprintf(stderr, "make_shard_seeds: cannot write %s\n", name);
    std::exit(1);
  }
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(space);
}

void write_compact(const std::string& path, hsize_t rows, hsize_t T, hsize_t P, bool latest) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (latest) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  const hsize_t tok[2] = {rows, T}, pred[2] = {rows, P}, nsp[1] = {rows};
  std::vector<int64_t> ids(rows * T, 0), ones(rows * T, 1), zeros(rows * T, 0);
  for (hsize_t i = 0; i < ids.size(); ++i) ids[i] = 100 + static_cast<int64_t>(i);
  compact_dataset(file, "input_ids", H5T_STD_I64LE, 2, tok, ids);
  compact_dataset(file, "input_mask", H5T_STD_I8LE, 2, tok, ones);
  compact_dataset(file, "segment_ids", H5T_STD_U8LE, 2, tok, zeros);
  compact_dataset(file, "masked_lm_positions", H5T_STD_I32LE, 2, pred, ones);
  compact_dataset(file, "masked_lm_ids", H5T_STD_I32BE, 2, pred, ids);
  compact_dataset(file, "next_sentence_labels", H5T_STD_I8LE, 1, nsp, zeros);
  H5Fclose(file);
  H5Pclose(fapl);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  write(dir + "/tiny_gzip.h5", 3, 8, 2, 4);
  write(dir + "/tiny_raw.h5", 2, 8, 2, 0);
  write(dir + "/one_row.h5", 1, 4, 1, 1);
  write_compact(dir + "/compact_latest.h5", 2, 4, 1, true);
  write_compact(dir + "/compact_v0.h5", 1, 3, 1, false);
  return 0;
}

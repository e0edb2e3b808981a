// Fuzzes the HDF5 shard reader (data/shard_format.h) on the input written to a temporary .h5:
// open + validate, then read the rows in blocks as the pre-training loader does. kd::Error (with
// HDF5's reasons) is the documented rejection of a corrupt or foreign file. Reads stop after
// kMaxElements values per dataset: a 100-byte header can declare 2^40 rows of fill value, which
// is a valid (slow) file, not a bug.
#include <algorithm>
#include <cstdint>
#include <string>

#include "data/shard_format.h"
#include "fuzz_util.h"

namespace {
constexpr int64_t kMaxElements = int64_t{1} << 20;
constexpr int64_t kBlockRows = 64;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = kd::fuzz::temp_path("shard.h5");
  kd::fuzz::write_file(path, kd::fuzz::as_view(data, size));
  try {
    kd::data::ShardReader reader(path);
    KD_FUZZ_ASSERT(reader.size() > 0 && reader.seq_len() > 0 && reader.max_predictions() > 0 &&
                       reader.max_predictions() <= reader.seq_len(),
                   "validated shard with an impossible shape");
    const int64_t rows =
        std::min(reader.size(), std::max<int64_t>(1, kMaxElements / reader.seq_len()));
    for (int64_t begin = 0; begin < rows; begin += kBlockRows) {
      const int64_t count = std::min(kBlockRows, rows - begin);
      const kd::data::InstanceBlock b = reader.read(begin, count);
      KD_FUZZ_ASSERT(b.count == count &&
                         b.input_ids.size() == static_cast<size_t>(count * b.seq_len) &&
                         b.masked_lm_ids.size() == static_cast<size_t>(count * b.max_predictions) &&
                         b.next_sentence_labels.size() == static_cast<size_t>(count),
                     "block sizes do not match the shard's shape");
    }
    // Past the end is a kd::Error, never a read outside the dataset.
    reader.read(reader.size(), 1);
    KD_FUZZ_ASSERT(false, "read past the end was not rejected");
  } catch (const kd::Error&) {
  }
  return 0;
}

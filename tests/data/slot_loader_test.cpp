// SlotLoader: the micro-batches of every step are the same whatever the number of ranks that
// share them (the global data order of a resume on another rank count), and its cursor moves a
// run from one layout to another.
#include "data/slot_loader.h"

#include <gtest/gtest.h>

#include <map>

#include "common/check.h"
#include "data/shard_test_sizes.h"
#include "data/shard_test_util.h"
#include "support/test_support.h"

namespace kd::data {
namespace {

std::vector<std::string> make_shards(const std::string& dir) {
  std::vector<std::string> files;
  int64_t first = 0;
  for (int64_t size : {70, 50, 64}) {
    files.push_back(fmt::format("{}/shard_{:03d}.hdf5", dir, files.size()));
    test::write_shard(files.back(), first, size, T, P);
    first += size;
  }
  return files;
}

LoaderOptions options(const std::vector<std::string>& files, int prefetch) {
  LoaderOptions o;
  o.files = files;
  o.batch_size = 3;
  o.seed = 99;
  o.prefetch = prefetch;
  o.shuffle_window = 16;
  return o;
}

// The instance ids (input_ids[:, 1], see shard_test_util.h) of each slot of each step: what
// every rank of `layout`'s world reads, put together by slot number.
using Steps = std::vector<std::map<int64_t, std::vector<int64_t>>>;
Steps read_steps(const LoaderOptions& o, SlotLayout layout, int steps,
                 const nlohmann::json& start = nullptr) {
  Steps out(steps);
  for (int r = 0; r < layout.world; ++r) {
    layout.rank = r;
    SlotLoader loader(o, layout);
    if (!start.is_null()) loader.restore(start);
    for (int s = 0; s < steps; ++s)
      for (int64_t m = 0; m < layout.accum; ++m) {
        auto b = loader.next();
        EXPECT_TRUE(b.has_value());
        auto col = b->input_ids.select(1, 1).contiguous();
        out[s][r * layout.accum + m] = {col.data_ptr<int64_t>(),
                                        col.data_ptr<int64_t>() + col.numel()};
      }
  }
  return out;
}

TEST(SlotLoader, EveryLayoutOfTheSameSlotsReadsTheSameMicroBatches) {
  const auto files = make_shards(kd::test::temp_dir("slot-same"));
  // The data were fixed by 2 ranks x 2 micro-steps: 4 slots per step. 30 steps cross epochs.
  const Steps ref = read_steps(options(files, 0), {2, 2, 2, 2, 0}, 30);
  for (auto [world, accum] : {std::pair{1, 4}, {4, 1}}) {
    const Steps got = read_steps(options(files, 2), {2, 2, world, accum, 0}, 30);
    EXPECT_EQ(got, ref) << world << " ranks x " << accum;
  }
  // Slot k is micro-batch k % 2 of data rank k / 2: PretrainLoader(rank k / 2, world 2).
  PretrainLoader rank1(options(files, 0), 1, 2);
  for (int s = 0; s < 3; ++s)
    for (int m = 0; m < 2; ++m) {
      auto col = rank1.next()->input_ids.select(1, 1).contiguous();
      EXPECT_EQ(ref[s].at(2 + m),
                std::vector<int64_t>(col.data_ptr<int64_t>(), col.data_ptr<int64_t>() + 3));
    }
}

TEST(SlotLoader, ACursorOfOneLayoutContinuesInAnother) {
  const auto files = make_shards(kd::test::temp_dir("slot-cursor"));
  const Steps all = read_steps(options(files, 0), {1, 2, 1, 2, 0}, 12);
  SlotLoader first(options(files, 0), {1, 2, 1, 2, 0});
  for (int i = 0; i < 2 * 7; ++i) first.next();  // 7 steps on 1 rank x 2
  const auto cursor = first.cursor();
  const Steps rest = read_steps(options(files, 1), {1, 2, 2, 1, 0}, 5, cursor);  // on 2 ranks
  for (int s = 0; s < 5; ++s) EXPECT_EQ(rest[s], all[7 + s]) << "step " << 7 + s;
}

TEST(SlotLoader, RefusesLayoutsThatDoNotCoverTheSlots) {
  const auto files = make_shards(kd::test::temp_dir("slot-bad"));
  EXPECT_THROW(SlotLoader(options(files, 0), {2, 2, 3, 1, 0}), Error);
  SlotLoader half(options(files, 0), {1, 2, 1, 2, 0});
  half.next();
  EXPECT_THROW(half.cursor(), Error);  // not at a step boundary
}

}  // namespace
}  // namespace kd::data

// PretrainLoader on real shard files: batch contents and labels, coverage over ranks and epochs,
// exact resume from cursors (with and without the prefetch thread), and error reporting.
#include "data/pretrain_loader.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <fstream>
#include <set>

#include "common/check.h"
#include "data/shard_test_sizes.h"
#include "data/shard_test_util.h"
#include "support/test_support.h"

namespace kd::data {
namespace {

// Writes shards with the given sizes; instance ids are global and consecutive.
std::vector<std::string> make_shards(const std::string& dir, const std::vector<int64_t>& sizes) {
  std::vector<std::string> files;
  int64_t first = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    files.push_back(fmt::format("{}/shard_{:03d}.hdf5", dir, i));
    test::write_shard(files.back(), first, sizes[i], T, P);
    first += sizes[i];
  }
  return files;
}

LoaderOptions options(const std::vector<std::string>& files, int64_t batch, int prefetch) {
  LoaderOptions o;
  o.files = files;
  o.batch_size = batch;
  o.seed = 1234;
  o.prefetch = prefetch;
  o.shuffle_window = 16;  // several windows per shard, so window shuffling is exercised
  return o;
}

// The instance ids of a batch (input_ids[:, 1] by construction of make_instance).
std::vector<int64_t> ids_of(const PretrainBatch& b) {
  auto col = b.input_ids.select(1, 1).contiguous();
  return {col.data_ptr<int64_t>(), col.data_ptr<int64_t>() + col.numel()};
}

void expect_same_batch(const PretrainBatch& a, const PretrainBatch& b, const std::string& where) {
  EXPECT_TRUE(torch::equal(a.input_ids, b.input_ids)) << where;
  EXPECT_TRUE(torch::equal(a.token_type_ids, b.token_type_ids)) << where;
  EXPECT_TRUE(torch::equal(a.attention_mask, b.attention_mask)) << where;
  EXPECT_TRUE(torch::equal(a.mlm_labels, b.mlm_labels)) << where;
  EXPECT_TRUE(torch::equal(a.nsp_labels, b.nsp_labels)) << where;
  EXPECT_EQ(a.num_tokens, b.num_tokens) << where;
  EXPECT_EQ(a.num_masked, b.num_masked) << where;
}

TEST(PretrainLoader, BatchContentsAndLabels) {
  const auto files = make_shards(test::temp_dir("loader_labels"), {12});
  auto o = options(files, 4, 0);
  o.shuffle = false;
  PretrainLoader loader(o, 0, 1);
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  EXPECT_EQ(loader.seq_len(), T);
  for (int b = 0; b < 3; ++b) {
    auto batch = loader.next();
    ASSERT_TRUE(batch);
    ASSERT_EQ(batch->input_ids.sizes(), (std::vector<int64_t>{4, T}));
    ASSERT_EQ(batch->mlm_labels.sizes(), (std::vector<int64_t>{4, T}));
    ASSERT_EQ(batch->nsp_labels.sizes(), (std::vector<int64_t>{4}));
    for (auto* t : {&batch->input_ids, &batch->token_type_ids, &batch->attention_mask,
                    &batch->mlm_labels, &batch->nsp_labels})
      EXPECT_EQ(t->scalar_type(), torch::kLong);
    int64_t tokens = 0, masked = 0;
    for (int r = 0; r < 4; ++r) {
      const Instance in = test::make_instance(b * 4 + r, T, P);
      std::vector<int64_t> labels(T, -100);
      for (int p = 0; p < P; ++p)
        if (in.masked_lm_positions[p] != 0) {
          labels[in.masked_lm_positions[p]] = in.masked_lm_ids[p];
          ++masked;
        }
      for (int t = 0; t < T; ++t) {
        ASSERT_EQ(batch->input_ids[r][t].item<int64_t>(), in.input_ids[t]);
        ASSERT_EQ(batch->token_type_ids[r][t].item<int64_t>(), in.segment_ids[t]);
        ASSERT_EQ(batch->attention_mask[r][t].item<int64_t>(), in.input_mask[t]);
        ASSERT_EQ(batch->mlm_labels[r][t].item<int64_t>(), labels[t]) << "row " << r << " t " << t;
        tokens += in.input_mask[t];
      }
      EXPECT_EQ(batch->mlm_labels[r][0].item<int64_t>(), -100);  // [CLS] is never a target
      EXPECT_EQ(batch->nsp_labels[r].item<int64_t>(), in.next_sentence_label);
    }
    EXPECT_EQ(batch->num_tokens, tokens);
    EXPECT_EQ(batch->num_masked, masked);
    EXPECT_GT(masked, 0);
  }
  EXPECT_EQ(loader.cursor().at("epoch"), 1);
  EXPECT_EQ(loader.cursor().at("batch"), 0);
}

TEST(PretrainLoader, EveryInstanceOncePerEpochAcrossRanks) {
  const std::vector<int64_t> sizes = {37, 50, 23, 41, 29};
  const auto files = make_shards(test::temp_dir("loader_cover"), sizes);
  for (int world : {1, 2, 3, 7}) {  // 7 > 5 shards: instance ranges
    SCOPED_TRACE(testing::Message() << "world " << world);
    const int64_t B = 4;
    std::vector<std::unique_ptr<PretrainLoader>> loaders;
    for (int r = 0; r < world; ++r)
      loaders.push_back(std::make_unique<PretrainLoader>(options(files, B, 2), r, world));
    std::vector<std::vector<int64_t>> epoch_orders;
    for (int epoch = 0; epoch < 3; ++epoch) {
      const int64_t nb = loaders[0]->batches_per_epoch();
      ASSERT_GT(nb, 0);
      std::set<int64_t> seen;
      std::vector<int64_t> order;
      for (int r = 0; r < world; ++r) {
        ASSERT_EQ(loaders[r]->batches_per_epoch(), nb) << "rank " << r;
        for (int64_t b = 0; b < nb; ++b) {
          auto batch = loaders[r]->next();
          ASSERT_TRUE(batch);
          ASSERT_EQ(batch->input_ids.size(0), B);
          for (int64_t id : ids_of(*batch)) {
            ASSERT_TRUE(seen.insert(id).second) << "instance " << id << " twice in epoch " << epoch;
            ASSERT_GE(id, 0);
            ASSERT_LT(id, 180);
            order.push_back(id);
          }
        }
        EXPECT_EQ(loaders[r]->cursor().at("epoch"), epoch + 1);
      }
      // Only the drop-last remainder is left out.
      EXPECT_EQ(static_cast<int64_t>(seen.size()), nb * B * world);
      if (world == 1) {
        EXPECT_EQ(nb, 180 / B);  // batches span shard boundaries
      }
      epoch_orders.push_back(order);
    }
    EXPECT_NE(epoch_orders[0], epoch_orders[1]);
    EXPECT_NE(epoch_orders[1], epoch_orders[2]);
  }
}

// Runs `n` batches from a fresh loader and keeps them with the cursor after each.
struct RunLog {
  std::vector<PretrainBatch> batches;
  std::vector<nlohmann::json> cursors;  // cursors[i] = after batches[i]
};
RunLog run_batches(const LoaderOptions& o, int rank, int world, int n) {
  RunLog run;
  PretrainLoader loader(o, rank, world);
  for (int i = 0; i < n; ++i) {
    auto b = loader.next();
    EXPECT_TRUE(b);
    run.batches.push_back(std::move(*b));
    run.cursors.push_back(loader.cursor());
  }
  return run;
}

TEST(PretrainLoader, RestoreGivesIdenticalBatches) {
  const auto files = make_shards(test::temp_dir("loader_resume"), {37, 50, 23});
  for (int world : {1, 2}) {
    for (int rank = 0; rank < world; ++rank) {
      const auto o = options(files, 5, 3);
      PretrainLoader probe(o, rank, world);
      const int64_t nb0 = probe.batches_in_epoch(0), nb1 = probe.batches_in_epoch(1);
      const int total = static_cast<int>(nb0 + nb1 + 3);
      const RunLog ref = run_batches(o, rank, world, total);
      // Points: mid-epoch, last batch of epoch 0, exactly at the boundary, first of epoch 1.
      for (int k :
           {2, static_cast<int>(nb0) - 2, static_cast<int>(nb0) - 1, static_cast<int>(nb0)}) {
        for (int prefetch : {0, 1, 4}) {
          SCOPED_TRACE(testing::Message() << "world " << world << " rank " << rank << " after "
                                          << k + 1 << " batches, prefetch " << prefetch);
          auto o2 = o;
          o2.prefetch = prefetch;
          PretrainLoader resumed(o2, rank, world);
          // Through text, as a checkpoint stores it.
          resumed.restore(nlohmann::json::parse(ref.cursors[k].dump()));
          EXPECT_EQ(resumed.cursor(), ref.cursors[k]);
          for (int i = k + 1; i < total; ++i) {
            auto b = resumed.next();
            ASSERT_TRUE(b);
            expect_same_batch(*b, ref.batches[i], "batch " + std::to_string(i));
            EXPECT_EQ(resumed.cursor(), ref.cursors[i]);
          }
        }
      }
      // Rewinding a loader that has prefetched ahead.
      PretrainLoader loader(o, rank, world);
      for (int i = 0; i < 6; ++i) loader.next();
      loader.restore(ref.cursors[1]);
      auto b = loader.next();
      ASSERT_TRUE(b);
      expect_same_batch(*b, ref.batches[2], "rewound");
    }
  }
}

TEST(PretrainLoader, CursorChecksDataIdentity) {
  const auto files = make_shards(test::temp_dir("loader_cursor"), {40, 40});
  PretrainLoader a(options(files, 4, 2), 0, 1);
  a.next();
  const auto c = a.cursor();
  PretrainLoader other_batch(options(files, 8, 2), 0, 1);
  try {
    other_batch.restore(c);
    FAIL();
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch_size"), std::string::npos) << e.what();
  }
  PretrainLoader other_world(options(files, 4, 2), 0, 2);
  EXPECT_THROW(other_world.restore(c), kd::Error);
  PretrainLoader one_file(options({files[0]}, 4, 2), 0, 1);
  EXPECT_THROW(one_file.restore(c), kd::Error);
  auto bad = c;
  bad["batch"] = 1000;
  EXPECT_THROW(a.restore(bad), kd::Error);
  EXPECT_THROW(a.restore(nlohmann::json{{"epoch", 0}}), kd::Error);
}

TEST(PretrainLoader, MaxEpochsEnds) {
  const auto files = make_shards(test::temp_dir("loader_end"), {30, 22});
  for (int prefetch : {0, 2}) {
    auto o = options(files, 4, prefetch);
    o.max_epochs = 2;
    PretrainLoader loader(o, 0, 1);
    const int64_t n = loader.batches_in_epoch(0) + loader.batches_in_epoch(1);
    for (int64_t i = 0; i < n; ++i) ASSERT_TRUE(loader.next()) << i;
    EXPECT_FALSE(loader.next());
    EXPECT_FALSE(loader.next());
    PretrainLoader resumed(o, 0, 1);
    resumed.restore(loader.cursor());
    EXPECT_FALSE(resumed.next());
  }
}

TEST(PretrainLoader, TrimPadding) {
  const auto files = make_shards(test::temp_dir("loader_trim"), {64});
  auto o = options(files, 2, 0);
  PretrainLoader full(o, 0, 1);
  o.trim_padding = true;
  PretrainLoader trimmed(o, 0, 1);
  bool some_trimmed = false;
  for (int i = 0; i < 32; ++i) {
    auto a = full.next(), b = trimmed.next();
    const int64_t t = b->input_ids.size(1);
    EXPECT_EQ(t % 8, 0);
    // Nothing but padding is cut.
    const int64_t longest = a->attention_mask.sum(1).max().item<int64_t>();
    EXPECT_EQ(t, (longest + 7) / 8 * 8);
    some_trimmed |= t < T;
    EXPECT_TRUE(torch::equal(b->input_ids, a->input_ids.slice(1, 0, t)));
    EXPECT_TRUE(torch::equal(b->mlm_labels, a->mlm_labels.slice(1, 0, t)));
    EXPECT_TRUE(torch::equal(b->attention_mask, a->attention_mask.slice(1, 0, t)));
    EXPECT_TRUE(b->input_ids.is_contiguous());
    EXPECT_EQ(a->num_masked, b->num_masked);
  }
  EXPECT_TRUE(some_trimmed);
}

// Overwrites every stored chunk of `dataset` with garbage, leaving the metadata intact.
void corrupt_chunks(const std::string& path, const char* dataset) {
  std::vector<std::pair<haddr_t, hsize_t>> chunks;
  {
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    hid_t ds = H5Dopen2(f, dataset, H5P_DEFAULT);
    hid_t space = H5Dget_space(ds);
    hsize_t n = 0;
    ASSERT_GE(H5Dget_num_chunks(ds, space, &n), 0);
    for (hsize_t i = 0; i < n; ++i) {
      hsize_t offset[2];
      unsigned mask;
      haddr_t addr;
      hsize_t size;
      ASSERT_GE(H5Dget_chunk_info(ds, space, i, offset, &mask, &addr, &size), 0);
      chunks.emplace_back(addr, size);
    }
    H5Sclose(space);
    H5Dclose(ds);
    H5Fclose(f);
  }
  ASSERT_FALSE(chunks.empty());
  std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
  for (auto [addr, size] : chunks) {
    io.seekp(static_cast<std::streamoff>(addr));
    std::string junk(size, '\xAB');
    io.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
}

TEST(PretrainLoader, CorruptShardIsReportedByNext) {
  const std::string dir = test::temp_dir("loader_corrupt");
  const auto files = make_shards(dir, {40});
  corrupt_chunks(files[0], "input_ids");
  for (int prefetch : {0, 3}) {
    PretrainLoader loader(options(files, 4, prefetch), 0, 1);  // metadata is fine
    for (int attempt = 0; attempt < 2; ++attempt) {            // and it stays failed
      try {
        loader.next();
        FAIL() << "no error from a corrupt shard";
      } catch (const kd::Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(files[0]), std::string::npos) << msg;
        EXPECT_NE(msg.find("input_ids"), std::string::npos) << msg;
      }
    }
  }
}

TEST(PretrainLoader, OptionAndShardErrors) {
  const std::string dir = test::temp_dir("loader_errors");
  const auto files = make_shards(dir, {20});
  test::write_shard(dir + "/long.hdf5", 0, 20, 2 * T, P);
  try {
    PretrainLoader l(options({files[0], dir + "/long.hdf5"}, 4, 0), 0, 1);
    FAIL();
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/long.hdf5"), std::string::npos) << e.what();
  }
  auto o = options(files, 4, 0);
  o.max_seq_length = 128;
  EXPECT_THROW(PretrainLoader(o, 0, 1), kd::Error);
  EXPECT_THROW(PretrainLoader(options(files, 0, 0), 0, 1), kd::Error);
  EXPECT_THROW(PretrainLoader(options(files, 21, 0), 0, 1), kd::Error);  // no full batch
  EXPECT_THROW(PretrainLoader(options(files, 4, 0), 2, 2), kd::Error);
}

TEST(PretrainLoader, PinnedMemoryWithoutCudaIsRefusedWithAHint) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA present: Cuda.LoaderPins* covers pinning";
  const auto files = make_shards(test::temp_dir("loader_pin"), {20});
  auto o = options(files, 4, 2);
  o.pin_memory = true;
  try {
    PretrainLoader l(o, 0, 1);
    FAIL() << "pinned memory accepted without CUDA";
  } catch (const kd::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no CUDA device"), std::string::npos) << msg;
    EXPECT_NE(msg.find("device: cpu"), std::string::npos) << msg;
  }
}

TEST(PretrainLoader, ExpandGlobs) {
  const std::string dir = test::temp_dir("loader_globs");
  const auto files = make_shards(dir, {5, 5, 5});
  auto got = expand_globs({dir + "/shard_*.hdf5", files[1]});
  EXPECT_EQ(got, files);  // sorted, duplicate dropped
  try {
    expand_globs({dir + "/nothing_*.hdf5"});
    FAIL();
  } catch (const kd::Error& e) {
    EXPECT_NE(std::string(e.what()).find("nothing_*.hdf5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(expand_globs({dir + "/missing.hdf5"}), kd::Error);
  // The loader expands patterns too.
  PretrainLoader loader(options({dir + "/*.hdf5"}, 5, 0), 0, 1);
  EXPECT_EQ(loader.files(), files);
  EXPECT_EQ(loader.total_instances(), 15);
}

}  // namespace
}  // namespace kd::data

namespace kd::data {
namespace {

// kdprune-prep's shards carry their largest token id: a shard made with a bigger vocabulary
// than the model's is refused when the loader opens it, naming the file, before any training.
TEST(PretrainLoader, ShardsWithIdsPastTheVocabularyAreRefusedAtStart) {
  const auto files = make_shards(kd::test::temp_dir("loader-vocab"), {30, 20});
  int64_t largest = 0;
  for (const auto& f : files) largest = std::max(largest, *ShardReader(f).max_token_id());
  // make_instance: word ids up to 20999, masked ids up to 2999.
  EXPECT_GE(largest, 1000);
  EXPECT_LT(largest, 21000);
  auto o = options(files, 4, 0);
  o.vocab_size = largest + 1;
  EXPECT_NO_THROW(PretrainLoader(o, 0, 1));
  o.vocab_size = largest;
  try {
    PretrainLoader loader(o, 0, 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(fmt::format("holds token id {}", largest)), std::string::npos) << what;
    EXPECT_NE(what.find("shard_00"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace kd::data

// Data-parallel equivalence: 2 ranks with batch B each (GradReducer, several bucket layouts,
// gradient accumulation) reach the same parameters as 1 process with batch 2B. Each rank also
// computes the single-process reference itself, so the comparison is local.
// Tolerances: the first step's reduced gradients (before clipping, which like AdamW would hide a
// constant factor such as summing instead of averaging) within 1e-6 absolute + 1e-4 relative of
// the single-process gradients; parameters within 2e-5 absolute after 4 AdamW steps (fp32; only
// the order of the gradient summation differs). The same holds with the tied word embedding's
// lookup gradient deferred (dist.defer_embedding_grad). bf16 communication (dist.grad_bf16) is
// held to bf16's precision instead: within 1% of each tensor's largest gradient.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/check.h"
#include "dist/communicator.h"
#include "dist/grad_reducer.h"
#include "dist/local_communicator.h"
#include "dist/mpi_communicator.h"
#include "model/bert.h"
#include "train/optimizer.h"

namespace kd::dist {
namespace {

std::shared_ptr<Communicator> world() {
  static auto comm = make_world_communicator({"mpi", "cpu"});
  return comm;
}

model::BertConfig tiny_config() {
  auto c = model::BertConfig::uniform(/*vocab=*/64, /*hidden=*/32, /*layers=*/2, /*heads=*/4, 64);
  c.max_position_embeddings = 16;
  c.hidden_dropout_prob = 0;  // deterministic forward, so ranks and reference agree
  c.attention_probs_dropout_prob = 0;
  return c;
}

struct Batch {
  torch::Tensor ids, types, mask, labels, nsp;  // [N,T] x4, [N]
  Batch rows(int64_t begin, int64_t count) const {
    return {ids.narrow(0, begin, count), types.narrow(0, begin, count),
            mask.narrow(0, begin, count), labels.narrow(0, begin, count),
            nsp.narrow(0, begin, count)};
  }
};

// Every row has the same number of labelled positions, so the mean of per-rank mean losses
// equals the mean loss over the whole batch.
Batch make_batch(int64_t n, int64_t t, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  Batch b;
  b.ids = torch::randint(5, 64, {n, t}, gen);
  b.types = (torch::arange(t) >= t / 2).to(torch::kLong).expand({n, t}).contiguous();
  b.mask = torch::ones({n, t}, torch::kLong);
  b.mask.narrow(1, t - 2, 2).zero_();  // padding at the end
  // The pad id (0) also where it is attended to: its row must get no gradient (padding_idx).
  b.ids.select(1, 2).zero_();
  b.labels = torch::full({n, t}, -100, torch::kLong);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j : {1, 3, 6}) b.labels[i][j] = (i * 7 + j) % 64;
  b.nsp = torch::randint(0, 2, {n}, gen);
  return b;
}

torch::Tensor loss_of(model::BertForPreTraining& m, const Batch& b) {
  auto labels = b.labels.reshape(-1);
  auto pos = (labels != -100).nonzero().reshape(-1);
  model::ForwardOptions opt;
  opt.mlm_positions = pos;
  auto out = m->forward(b.ids, b.types, b.mask, opt);
  return torch::nn::functional::cross_entropy(out.mlm_logits, labels.index_select(0, pos)) +
         torch::nn::functional::cross_entropy(out.nsp_logits, b.nsp);
}

train::NamedTensors named(model::BertForPreTraining& m) {
  train::NamedTensors out;
  for (auto& kv : m->named_parameters()) out.emplace_back(kv.key(), kv.value());
  return out;
}

struct Trained {
  std::vector<torch::Tensor> params;
  std::vector<torch::Tensor> first_grads;  // step 1's reduced gradients, before clipping
};

// Index of the tied word embedding among the model's parameters.
size_t word_embedding_index(model::BertForPreTraining& m) {
  auto params = m->parameters();
  for (size_t k = 0; k < params.size(); ++k)
    if (params[k].is_same(m->embeddings->word_embeddings->weight)) return k;
  KD_FAIL("no word embedding");
}

// Defers the word embedding's lookup gradient and hands its rows to the reducer (as the
// Trainer does under dist.defer_embedding_grad).
void defer_word_embedding(model::BertForPreTraining& m, GradReducerOptions& opts) {
  auto table = m->embeddings->word_embeddings;
  table->set_defer_lookup_gradients(true);
  opts.deferred.push_back(
      {word_embedding_index(m), [table]() mutable { return table->take_lookup_gradients(); }});
}

// Trains `steps` steps on `comm` with `accum` micro-steps per step; rank r takes its share.
Trained train(std::shared_ptr<Communicator> comm, const Batch& full, int steps, int accum,
              GradReducerOptions bucket_opts, bool defer = false) {
  model::BertForPreTraining m(tiny_config());
  m->init_weights(7 + comm->rank());  // differs per rank: the broadcast must fix it
  auto params = named(m);
  std::vector<torch::Tensor> tensors;
  for (auto& [n, p] : params) tensors.push_back(p);
  broadcast_tensors(*comm, tensors, 0);
  if (defer) defer_word_embedding(m, bucket_opts);
  GradReducer reducer(comm, tensors, bucket_opts);
  train::OptimizerConfig oc;
  oc.lr = 1e-3;
  train::Optimizer opt(params, oc);
  const int64_t per_rank = full.ids.size(0) / comm->size();
  const int64_t per_micro = per_rank / accum;
  Trained out;
  for (int s = 0; s < steps; ++s) {
    for (int a = 0; a < accum; ++a) {
      reducer.prepare(a == accum - 1);
      auto b = full.rows(comm->rank() * per_rank + a * per_micro, per_micro);
      (loss_of(m, b) / static_cast<double>(accum)).backward();
    }
    reducer.finish();
    if (s == 0)
      for (auto& t : tensors) out.first_grads.push_back(t.grad().detach().clone());
    train::clip_grad_norm(params, 1.0);
    opt.step(oc.lr);
    opt.zero_grad();
  }
  out.params = tensors;
  return out;
}

double max_diff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  return worst;
}

class GradReducerEquivalence
    : public ::testing::TestWithParam<std::tuple<double, double, int, bool>> {};

TEST_P(GradReducerEquivalence, TwoRanksMatchOneRankWithDoubleBatch) {
  auto [bucket_mb, first_mb, accum, defer] = GetParam();
  auto comm = world();
  ASSERT_EQ(comm->size(), 2);
  Batch full = make_batch(/*n=*/8, /*t=*/12, /*seed=*/3);
  auto trained = train(comm, full, /*steps=*/4, accum, {bucket_mb, first_mb}, defer);
  // Reference: one process, whole batch, no communication (init from rank 0's seed).
  auto ref = train(std::make_shared<LocalCommunicator>(), full, 4, 1, {bucket_mb, first_mb});
  ASSERT_EQ(trained.first_grads.size(), ref.first_grads.size());
  for (size_t i = 0; i < ref.first_grads.size(); ++i)
    EXPECT_TRUE(torch::allclose(trained.first_grads[i], ref.first_grads[i], 1e-4, 1e-6))
        << "reduced gradient " << i << " differs from the single-process one, max |diff| "
        << (trained.first_grads[i] - ref.first_grads[i]).abs().max().item<double>();
  const auto& distributed = trained.params;
  double diff = max_diff(distributed, ref.params);
  EXPECT_LT(diff, 2e-5) << "bucket_mb=" << bucket_mb << " accum=" << accum;
  // And training moved the parameters (the comparison is not vacuous).
  model::BertForPreTraining init(tiny_config());
  init->init_weights(7);
  std::vector<torch::Tensor> init_tensors;
  for (auto& kv : init->named_parameters()) init_tensors.push_back(kv.value());
  EXPECT_GT(max_diff(distributed, init_tensors), 1e-3);
  check_tensors_identical(*comm, distributed, "parameters after training");
}

INSTANTIATE_TEST_SUITE_P(
    Buckets, GradReducerEquivalence,
    ::testing::Values(std::make_tuple(25.0, 1.0, 1, false),    // default layout
                      std::make_tuple(0.01, 0.001, 1, false),  // many tiny buckets
                      std::make_tuple(0.05, 0.01, 2, false),   // gradient accumulation
                      std::make_tuple(25.0, 1.0, 1, true),     // deferred lookup rows
                      std::make_tuple(0.01, 0.001, 2, true)));

TEST(GradReducer, Bf16CommunicationIsWithinBf16PrecisionAndReallyBf16) {
  auto comm = world();
  Batch full = make_batch(8, 12, 3);
  GradReducerOptions bf16{0.05, 0.01};
  bf16.bf16_wire = true;
  auto wire = train(comm, full, 1, 1, bf16);
  auto fp32 = train(comm, full, 1, 1, {0.05, 0.01});
  bool some_differ = false;
  for (size_t i = 0; i < fp32.first_grads.size(); ++i) {
    const auto& want = fp32.first_grads[i];
    const double scale = want.abs().max().item<double>();
    EXPECT_LE((wire.first_grads[i] - want).abs().max().item<double>(), 0.01 * scale + 1e-7)
        << "gradient " << i;
    some_differ = some_differ || !torch::equal(wire.first_grads[i], want);
    // Each rank's sum is rounded to bf16 before the average: 2 × a bf16 value.
    auto doubled = wire.first_grads[i] * 2;
    EXPECT_TRUE(torch::equal(doubled, doubled.to(torch::kBFloat16).to(torch::kFloat)))
        << "gradient " << i << " was not reduced in bf16";
  }
  EXPECT_TRUE(some_differ);
}

// A communicator whose gradient buckets go to a communication thread (dist.comm_thread).
std::shared_ptr<MpiCommunicator> threaded() {
  static std::shared_ptr<MpiCommunicator> comm = [] {
    world();  // MPI initialised by the factory
    MPI_Comm dup;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    return std::make_shared<MpiCommunicator>(dup, /*owns=*/true, false, /*comm_thread=*/true);
  }();
  return comm;
}

TEST(GradReducer, CommunicationThreadGivesTheBlockingResultBitForBit) {
  // Same MPI_Allreduce calls in the same order, only on another thread: identical numbers.
  ASSERT_TRUE(threaded()->has_comm_thread()) << "MPI_THREAD_MULTIPLE not provided";
  Batch full = make_batch(8, 12, 5);
  for (int accum : {1, 2}) {
    auto blocking = train(world(), full, 3, accum, {0.05, 0.01});
    auto overlapped = train(threaded(), full, 3, accum, {0.05, 0.01});
    for (size_t i = 0; i < blocking.params.size(); ++i)
      EXPECT_TRUE(torch::equal(blocking.params[i], overlapped.params[i]))
          << "parameter " << i << " (accum " << accum << ")";
  }
}

TEST(GradReducer, CommunicationThreadReducesWhileBackwardGoesOn) {
  // p_late's gradient arrives after p_early's bucket has been launched. Rank 1 reaches that
  // launch 1 s late, so the all-reduce cannot complete before then. With the communication
  // thread, rank 0's backward must reach p_late's gradient while the bucket is still in flight
  // (blocking in the hook, it would only get there after rank 1 joined).
  auto comm = threaded();
  auto p_late = torch::ones({1000}, torch::requires_grad());   // registered first: last bucket
  auto p_early = torch::ones({1000}, torch::requires_grad());  // registered last: first bucket
  bool in_flight_during_backward = false;
  GradReducer* reducer_ptr = nullptr;
  // Hooks run in registration order: these two before the reducer's own.
  p_early.register_hook([&](torch::Tensor g) {
    if (comm->rank() == 1) std::this_thread::sleep_for(std::chrono::seconds(1));
    return g;
  });
  p_late.register_hook([&](torch::Tensor g) {
    if (comm->rank() == 0) in_flight_during_backward = !reducer_ptr->bucket_reduced(0);
    return g;
  });
  GradReducer reducer(comm, {p_late, p_early}, {0.001, 0.001});  // one bucket each
  reducer_ptr = &reducer;
  ASSERT_EQ(reducer.num_buckets(), 2u);
  reducer.prepare(true);
  // p_early's gradient comes straight from the loss; p_late's only through z's backward.
  auto z = (p_late * 2.0f).sum();
  (p_early * z).sum().backward();
  reducer.finish();
  if (comm->rank() == 0) EXPECT_TRUE(in_flight_during_backward);
  EXPECT_TRUE(torch::allclose(p_early.grad(), torch::full({1000}, 2000.0f)));
}

TEST(GradReducer, DeferredWordEmbeddingIsLaunchedBeforeBackwardReachesTheEncoder) {
  // Without deferral the tied word embedding's gradient is complete only after the input
  // lookup's backward (the very end), so its bucket cannot launch earlier; with deferral it
  // launches as soon as the decoder's part is ready, before backward reaches the first layer.
  auto comm = threaded();
  Batch full = make_batch(8, 12, 3);
  for (bool defer : {false, true}) {
    model::BertForPreTraining m(tiny_config());
    m->init_weights(7);
    auto tensors = m->parameters();
    GradReducerOptions opts{0.001, 0.001};  // a bucket per parameter
    if (defer) defer_word_embedding(m, opts);
    bool launched_at_layer0 = false;
    GradReducer* reducer_ptr = nullptr;
    const size_t word = word_embedding_index(m);
    // The first layer's first parameter: its gradient comes just before the lookup's.
    auto layer0 = m->named_parameters().find("bert.encoder.layer.0.attention.self.query.weight");
    ASSERT_NE(layer0, nullptr);
    layer0->register_hook([&](torch::Tensor g) {
      launched_at_layer0 = reducer_ptr->bucket_launched(reducer_ptr->bucket_of(word));
      return g;
    });
    GradReducer reducer(comm, tensors, opts);
    reducer_ptr = &reducer;
    reducer.prepare(true);
    loss_of(m, full.rows(comm->rank() * 4, 4)).backward();
    reducer.finish();
    EXPECT_EQ(launched_at_layer0, defer) << (defer ? "deferred" : "not deferred");
    EXPECT_EQ(reducer.bucket_of(word), defer ? 0u : reducer.num_buckets() - 1);
  }
}

TEST(GradReducer, DetectsRanksThatDiverged) {
  auto comm = world();
  std::vector<torch::Tensor> t{torch::ones({10})};
  EXPECT_NO_THROW(check_tensors_identical(*comm, t, "weights"));
  if (comm->rank() == 1) t[0][3] = 1.0001f;
  EXPECT_THROW(check_tensors_identical(*comm, t, "weights"), Error);
}

TEST(GradReducer, NoCommunicationOnNonFinalMicroSteps) {
  // On a non-final micro-step the reducer must leave the local gradient untouched.
  auto comm = world();
  auto p = torch::zeros({4}, torch::requires_grad());
  GradReducer reducer(comm, {p});
  reducer.prepare(/*sync=*/false);
  (p * static_cast<float>(comm->rank() + 1)).sum().backward();
  reducer.finish();
  EXPECT_TRUE(torch::equal(p.grad(), torch::full({4}, static_cast<float>(comm->rank() + 1))));
  reducer.prepare(/*sync=*/true);
  (p * 10.0f).sum().backward();  // accumulated: rank0 1+10, rank1 2+10 → mean 11.5
  reducer.finish();
  EXPECT_TRUE(torch::allclose(p.grad(), torch::full({4}, 11.5f)));
}

}  // namespace
}  // namespace kd::dist

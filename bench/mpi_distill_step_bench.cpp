// Step-cost breakdown of `kdprune distill` (Tutor-KD vs plain KD vs MLM-only) at the
// quickstart's shapes: teacher 4 x 256 (A=4, F=1024), student 2 x 128 (A=4, F=512), V=30522,
// T=128, 20 masked positions per row, batch 32 per rank, bf16 (or fp32 with argument fp32).
// Phases: teacher forwards, tutor (logits, sampling, X'), student forward + losses, backward
// (the GradReducer launches bucket all-reduces during it), all-reduce wait, optimizer.
//   mpirun -np 2 --bind-to core build/bench/mpi_distill_step_bench [bf16|fp32] [steps]
#include <chrono>
#include <cstdio>
#include <string>

#include "common/allocator.h"
#include "dist/communicator.h"
#include "dist/grad_reducer.h"
#include "methods/distill/distiller.h"
#include "train/optimizer.h"

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

kd::data::PretrainBatch synthetic_batch(int64_t b, int64_t t, int64_t p, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  kd::data::PretrainBatch out;
  out.input_ids = torch::randint(1000, 30000, {b, t}, gen);
  out.token_type_ids = (torch::arange(t) >= t / 2).to(torch::kLong).expand({b, t}).contiguous();
  out.attention_mask = torch::ones({b, t}, torch::kLong);
  out.mlm_labels = torch::full({b, t}, -100, torch::kLong);
  out.nsp_labels = torch::zeros({b}, torch::kLong);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t k = 0; k < p; ++k) {
      int64_t j = 1 + (k * 6 + i) % (t - 2);
      out.mlm_labels[i][j] = out.input_ids[i][j].item<int64_t>();
      out.input_ids[i][j] = 103;
    }
  return out;
}

struct Row {
  double teacher = 0, tutor = 0, student = 0, backward = 0, sync = 0, optim = 0, step = 0;
};

Row run(const std::string& method, bool bf16, int steps,
        std::shared_ptr<kd::dist::Communicator> comm) {
  auto tc = kd::model::BertConfig::uniform(30522, 256, 4, 4, 1024);
  auto sc = kd::model::BertConfig::uniform(30522, 128, 2, 4, 512);
  tc.max_position_embeddings = sc.max_position_embeddings = 128;
  kd::model::BertForPreTraining teacher(tc), student(sc);
  teacher->init_weights(1);
  student->init_weights(2);
  kd::methods::DistillConfig c;
  c.distill.method = method;
  c.train.precision = bf16 ? "bf16" : "fp32";
  c.weights.mlm = 1;
  kd::methods::distill::Distiller d(c, teacher, student);
  auto params = d.trainable_parameters();
  std::vector<torch::Tensor> tensors;
  for (auto& [n, p] : params) tensors.push_back(p);
  kd::dist::GradReducer reducer(comm, tensors, {25.0, 1.0});
  kd::train::OptimizerConfig oc;
  kd::train::Optimizer opt(params, oc);
  Row r;
  const int warmup = 3;
  for (int s = 0; s < warmup + steps; ++s) {
    auto batch = synthetic_batch(32, 128, 20, 100 * comm->rank() + s);
    comm->barrier();
    auto t_step = Clock::now();
    reducer.prepare(true);
    auto out = d.step(batch);
    auto t0 = Clock::now();
    out.loss.backward();
    double backward = since(t0);
    t0 = Clock::now();
    reducer.finish();
    double sync = since(t0);
    t0 = Clock::now();
    kd::train::clip_grad_norm(params, 1.0);
    opt.step(1e-4);
    opt.zero_grad();
    double optim = since(t0);
    double step = since(t_step);
    if (s < warmup) continue;
    const auto& pt = d.last_times();
    r.teacher += pt.teacher / steps;
    r.tutor += pt.tutor / steps;
    r.student += pt.student / steps;
    r.backward += backward / steps;
    r.sync += sync / steps;
    r.optim += optim / steps;
    r.step += step / steps;
  }
  return r;
}
}  // namespace

int main(int argc, char** argv) {
  kd::configure_allocator_for_training();
  const bool bf16 = argc < 2 || std::string(argv[1]) != "fp32";
  const int steps = argc >= 3 ? std::stoi(argv[2]) : 10;
  auto comm = kd::dist::make_world_communicator({"auto", "cpu"});
  torch::set_num_threads(1);
  if (comm->is_root())
    std::printf(
        "distill step, %s, %d ranks x 1 thread, batch 32 x 128 per rank, %d timed steps\n"
        "%-9s %9s %9s %9s %9s %9s %9s %9s %10s\n",
        bf16 ? "bf16" : "fp32", comm->size(), steps, "method", "teacher", "tutor", "student",
        "backward", "sync", "optim", "step ms", "tok/s/rank");
  Row kd_row, tutor_row;
  for (const std::string m : {"tutor_kd", "kd", "mlm"}) {
    Row r = run(m, bf16, steps, comm);
    if (m == "kd") kd_row = r;
    if (m == "tutor_kd") tutor_row = r;
    if (comm->is_root())
      std::printf("%-9s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %10.0f\n", m.c_str(),
                  1e3 * r.teacher, 1e3 * r.tutor, 1e3 * r.student, 1e3 * r.backward, 1e3 * r.sync,
                  1e3 * r.optim, 1e3 * r.step, 32 * 128 / r.step);
  }
  if (comm->is_root())
    std::printf(
        "(phases in ms per step)\nTutor-KD step / plain-KD step: %.2fx (throughput "
        "overhead of the tutor: %.0f%%)\n",
        tutor_row.step / kd_row.step, 100.0 * (1.0 - kd_row.step / tutor_row.step));
  kd::dist::finalize();
  return 0;
}

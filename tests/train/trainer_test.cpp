// The Trainer's policy around a toy task (least squares on fixed data, one process): loss terms
// reach metrics.jsonl on logged steps only, with the values the task returned; the task's clip
// hook and the caller's step hooks run once per step; a stop after step 4 checkpoints and the
// resumed run continues with exactly the uninterrupted run's losses and final weights.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "dist/local_communicator.h"
#include "model/safetensors.h"
#include "support/test_support.h"
#include "train/trainer.h"

namespace kd::train {
namespace {
namespace fs = std::filesystem;

class LeastSquaresTask : public TrainingTask {
 public:
  LeastSquaresTask() {
    auto gen = at::detail::createCPUGenerator(11);
    x_ = torch::randn({32, 4}, gen);
    y_ = x_.matmul(torch::tensor({1.0f, -2.0f, 0.5f, 3.0f}));
    w_ = torch::zeros({4}, torch::requires_grad());
  }
  NamedTensors trainable_parameters() override { return {{"w", w_}}; }
  MicroStepResult micro_step() override {
    auto rows = torch::arange(cursor_ % 4 * 8, cursor_ % 4 * 8 + 8);
    ++cursor_;
    auto err = x_.index_select(0, rows).matmul(w_) - y_.index_select(0, rows);
    MicroStepResult r;
    r.loss = err.pow(2).mean();
    r.parts["mse"] = r.loss.detach();
    r.parts["max_abs_err"] = err.detach().abs().max();
    r.tokens = 8;
    return r;
  }
  double clip_gradients(const NamedTensors& params, double max_norm) override {
    ++clips;
    return TrainingTask::clip_gradients(params, max_norm);
  }
  nlohmann::json rank_state() const override { return {{"cursor", cursor_}}; }
  void load_rank_state(const nlohmann::json& s) override { cursor_ = s.at("cursor"); }
  void save_model(const std::string& dir) override {
    fs::create_directories(dir);
    model::save_safetensors(dir + "/w.safetensors", {{"w", w_.detach()}});
  }
  void load_model(const std::string& dir) override {
    torch::NoGradGuard no_grad;
    w_.copy_(model::load_safetensors(dir + "/w.safetensors").at("w"));
  }
  torch::Tensor weights() const { return w_.detach().clone(); }
  int clips = 0;

 private:
  torch::Tensor x_, y_, w_;
  int64_t cursor_ = 0;
};

JobConfig toy_config(const std::string& run_dir) {
  JobConfig c;
  c.run_dir = run_dir;
  c.train.steps = 10;
  c.train.log_every = 5;
  c.train.optimizer.lr = 0.1;
  c.train.optimizer.weight_decay = 0;
  c.train.schedule.kind = "constant";
  return c;
}

std::vector<nlohmann::json> metrics(const std::string& run_dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(Trainer, LogsTermsOnLoggedStepsAndRunsHooksEveryStep) {
  const auto dir = test::temp_dir("trainer-hooks");
  LeastSquaresTask task;
  std::vector<int64_t> hooked;
  TrainerOptions options;
  options.step_hooks.push_back([&](int64_t step, double) { hooked.push_back(step); });
  auto r = Trainer(toy_config(dir), "", std::make_shared<dist::LocalCommunicator>(), task, options)
               .run();
  EXPECT_EQ(r.end_step, 10);
  EXPECT_EQ(task.clips, 10);
  EXPECT_EQ(hooked, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  const auto m = metrics(dir);
  ASSERT_EQ(m.size(), 2u);  // steps 5 and 10
  EXPECT_EQ(m[0]["step"], 5);
  EXPECT_EQ(m[1]["step"], 10);
  for (const auto& line : m) {
    const auto step = line["step"].get<size_t>();
    // The mse term is the loss itself: the same number, read once at the logged step.
    EXPECT_EQ(line["mse"].get<double>(), r.losses[step - 1]);
    EXPECT_GT(line["max_abs_err"].get<double>(), 0.0);
  }
  EXPECT_LT(r.losses.back(), 0.5 * r.losses.front());  // it learns
  EXPECT_EQ(r.last_loss, r.losses.back());
}

TEST(Trainer, StopAndResumeEqualsUninterrupted) {
  auto comm = std::make_shared<dist::LocalCommunicator>();
  const auto straight_dir = test::temp_dir("trainer-straight");
  LeastSquaresTask straight;
  auto s = Trainer(toy_config(straight_dir), "", comm, straight).run();

  const auto dir = test::temp_dir("trainer-stopped");
  auto stop_config = toy_config(dir);
  stop_config.debug.stop_after_step = 4;
  LeastSquaresTask first;
  auto a = Trainer(stop_config, "", comm, first).run();
  EXPECT_TRUE(a.stopped_by_signal);
  EXPECT_EQ(a.end_step, 4);
  LeastSquaresTask second;  // a new process: state only from the checkpoint
  auto b = Trainer(toy_config(dir), "", comm, second).run();
  EXPECT_EQ(b.start_step, 4);
  ASSERT_EQ(b.losses.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(b.losses[i], s.losses[i + 4]) << "step " << i + 5;
  EXPECT_TRUE(torch::equal(second.weights(), straight.weights()));
  EXPECT_EQ(b.last_loss, s.last_loss);
}

}  // namespace
}  // namespace kd::train

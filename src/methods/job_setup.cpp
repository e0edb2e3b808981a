#include "methods/job_setup.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/check.h"
#include "common/file_io.h"
#include "common/log.h"
#include "common/signals.h"
#include "train/checkpoint.h"

namespace kd::methods {
namespace fs = std::filesystem;

JobContext setup_job(const train::JobConfig& config, const std::string& config_yaml,
                     const std::string& job_name, std::shared_ptr<dist::Communicator> comm) {
  JobContext ctx;
  ctx.config_yaml = config_yaml;
  ctx.comm = std::move(comm);
  int threads = config.threads;
  if (threads == 0) {
    const char* env = std::getenv("OMP_NUM_THREADS");
    threads = env ? std::max(1, std::atoi(env)) : 1;
  }
  torch::set_num_threads(threads);
  install_stop_signal_handlers();
  if (ctx.comm->is_root()) {
    fs::create_directories(config.run_dir);
    write_file_atomic((fs::path(config.run_dir) / "config.yaml").string(), config_yaml);
  }
  ctx.comm->barrier();
  log_info(job_name.c_str(), "run_dir {} · {} rank(s) × {} thread(s) · backend {} · device {}",
           config.run_dir, ctx.comm->size(), threads, ctx.comm->backend(), config.device);
  return ctx;
}

void write_summary(const JobContext& ctx, const train::JobConfig& config,
                   const std::string& job_name, const train::TrainResult& r,
                   const nlohmann::json& extra) {
  if (!ctx.comm->is_root()) return;
  nlohmann::json j = {{"job", job_name},
                      {"ranks", ctx.comm->size()},
                      {"start_step", r.start_step},
                      {"end_step", r.end_step},
                      {"stopped_by_signal", r.stopped_by_signal},
                      {"skipped_steps", r.skipped_steps},
                      {"train_seconds", r.wall_s},
                      {"tokens_per_s", r.tokens_per_s},
                      {"first_loss", r.losses.empty() ? 0.0 : r.losses.front()},
                      {"last_loss", r.last_loss},
                      {"checkpoint", r.last_checkpoint}};
  for (const auto& [k, v] : extra.items()) j[k] = v;
  write_file_atomic((fs::path(config.run_dir) / "summary.json").string(), j.dump(1));
  std::string text = fmt::format(
      "\n== {} summary ==\n  ranks            {}\n  steps            {} → {}{}\n"
      "  loss             {:.4f} → {:.4f}\n  throughput       {:.0f} tokens/s ({:.1f} s training)\n"
      "  skipped steps    {}\n  checkpoint       {}\n",
      job_name, ctx.comm->size(), r.start_step, r.end_step,
      r.stopped_by_signal ? " (stopped by signal)" : "", r.losses.empty() ? 0.0 : r.losses.front(),
      r.last_loss, r.tokens_per_s, r.wall_s, r.skipped_steps, r.last_checkpoint);
  for (const auto& [k, v] : extra.items())
    text += fmt::format("  {:<16} {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

void write_summary(const JobContext& ctx, const train::JobConfig& config,
                   const std::string& job_name, const nlohmann::json& fields) {
  if (!ctx.comm->is_root()) return;
  nlohmann::json j = {{"job", job_name}, {"ranks", ctx.comm->size()}};
  for (const auto& [k, v] : fields.items()) j[k] = v;
  write_file_atomic((fs::path(config.run_dir) / "summary.json").string(), j.dump(1));
}

void publish_final_model(const JobContext& ctx, const train::JobConfig& config,
                         const std::string& source) {
  if (ctx.comm->is_root()) {
    const fs::path final_dir = fs::path(config.run_dir) / "model";
    const fs::path tmp = final_dir.string() + ".tmp";
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    for (const auto& entry : fs::directory_iterator(source)) {
      std::error_code linked;
      fs::create_hard_link(entry.path(), tmp / entry.path().filename(), linked);
      if (linked) fs::copy_file(entry.path(), tmp / entry.path().filename());
    }
    fs::remove_all(final_dir);
    fs::rename(tmp, final_dir);
  }
  ctx.comm->barrier();
}

int exit_code(const train::TrainResult& r) {
  return r.stopped_by_signal ? kExitCheckpointedOnSignal : 0;
}

}  // namespace kd::methods

#include "methods/campaign/campaign_runner.h"

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "common/check.h"
#include "common/command_registry.h"
#include "common/file_io.h"
#include "common/signals.h"
#include "dist/collective_watchdog.h"

namespace kd::methods::campaign {
namespace fs = std::filesystem;
namespace {

double now_s() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

nlohmann::json read_stage_json(const CampaignConfig& c, const std::string& stage) {
  const std::string path = c.stage_dir(stage) + "/stage.json";
  if (!fs::exists(path)) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const std::exception& e) {
    KD_FAIL("{}: unreadable ({}); delete it to rerun the stage", path, e.what());
  }
}

void write_stage_json(const CampaignConfig& c, const std::string& stage, const nlohmann::json& j) {
  write_file_atomic(c.stage_dir(stage) + "/stage.json", j.dump(1) + "\n");
}

bool is_final(const std::string& status) {
  return status == "done" || status == "failed" || status == "skipped";
}

// Polls `ready` until it holds (true) or a stop signal arrives first (false). Checking `ready`
// before the signal matters: once a stage's start condition holds it holds for every rank of its
// group, so they all enter it together.
bool wait_until(const std::function<bool()>& ready) {
  for (;;) {
    if (ready()) return true;
    if (stop_requested()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// The stage's stdout and stderr go to its log while it runs (each rank runs one stage at a time).
class OutputToFile {
 public:
  explicit OutputToFile(const std::string& path) {
    std::fflush(stdout);
    std::fflush(stderr);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    KD_CHECK(fd >= 0, "cannot open the stage log {}", path);
    saved_out_ = ::dup(1);
    saved_err_ = ::dup(2);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~OutputToFile() {
    std::fflush(stdout);
    std::fflush(stderr);
    ::dup2(saved_out_, 1);
    ::dup2(saved_err_, 2);
    ::close(saved_out_);
    ::close(saved_err_);
  }

 private:
  int saved_out_ = -1, saved_err_ = -1;
};

std::vector<std::string> command_line(const CampaignConfig& c, const StageSpec& s) {
  std::vector<std::string> argv = {"kdprune", s.command};
  if (takes_config(s.command)) {
    if (!s.config.empty()) argv.insert(argv.end(), {"--config", resolve_references(c, s.config)});
    for (const auto& kv : s.sets) argv.insert(argv.end(), {"--set", resolve_references(c, kv)});
    argv.insert(argv.end(), {"--set", "run_dir=" + c.stage_dir(s.name)});
  } else {
    for (const auto& a : s.args) argv.push_back(resolve_references(c, a));
  }
  return argv;
}

// Parses and runs one kdprune command line as the binary would; the command asks for "the world"
// and gets the stage's group (set_world_override).
int run_command_line(const std::vector<std::string>& argv) {
  CLI::App app{"kdprune"};
  app.require_subcommand(1);
  const auto commands = cli::add_commands("kdprune", app);
  std::vector<const char*> ptrs;
  for (const auto& a : argv) ptrs.push_back(a.c_str());
  try {
    app.parse(int(ptrs.size()), ptrs.data());
  } catch (const CLI::ParseError& e) {
    KD_FAIL("command line of the stage: {}", e.what());
  }
  return cli::run_parsed(commands);
}

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string rank_text(const std::vector<int>& ranks) {
  std::string s;
  for (int r : ranks) s += (s.empty() ? "" : ",") + std::to_string(r);
  return s;
}

class CampaignRun {
 public:
  CampaignRun(const CampaignConfig& c, const Plan& plan, std::shared_ptr<dist::Communicator> world)
      : c_(c), plan_(plan), world_(std::move(world)), me_(world_->rank()) {}

  int run() {
    install_stop_signal_handlers();
    // Statuses written by an earlier run of the campaign (resume) other than "done" do not
    // count as final in this one: a stage that failed or was skipped then runs again now.
    run_id_ = world_->broadcast_string(fmt::format("{:.6f}", now_s()), 0);
    // One communicator per stage, made by every rank in the plan's order (world collectives,
    // before any stage runs); ranks outside a stage get none.
    for (const auto& s : plan_.stages) {
      auto it = std::find(s.ranks.begin(), s.ranks.end(), me_);
      const bool in = it != s.ranks.end();
      groups_[s.name] = world_->split(in ? 0 : -1, in ? int(it - s.ranks.begin()) : 0);
    }
    int code = 0;
    const auto mine = plan_.stages_of_rank(me_);
    for (size_t i = 0; i < mine.size(); ++i) {
      const int stage_code = run_stage(mine[i]);
      if (stage_code == kExitCheckpointedOnSignal) {
        code = stage_code;
        // This rank starts none of its later stages: their other ranks must not wait for it.
        for (size_t j = i + 1; j < mine.size(); ++j) give_up(mine[j]);
        break;
      }
      if (stage_code != 0) code = 1;
    }
    // The other groups: polled, not a world collective that would spin a core per waiting rank.
    wait_until([&] {
      for (const auto& s : plan_.stages)
        if (!is_final(status_now(s.name))) return false;
      return true;
    });
    if (stop_requested()) code = kExitCheckpointedOnSignal;
    return int(world_->allreduce_scalar(code, dist::ReduceOp::Max));
  }

 private:
  // A stage's status in this run of the campaign ("done" from any run).
  std::string status_now(const std::string& stage) const {
    const auto j = read_stage_json(c_, stage);
    const std::string status = j.value("status", "");
    if (status == "done" || j.value("run_id", "") == run_id_) return status;
    return "";
  }

  // Whether every rank of the stage's group starts it. A stop signal can reach the group's ranks
  // while some wait for their previous stage and others are ready; a rank that stops before it
  // has arrived leaves a "gave up" mark, one that has arrived waits for all the others or for
  // such a mark, so all of them agree (files, polled like the rest of the coordination: no
  // rank blocks in a group collective that another rank will never enter).
  std::string start_mark(const std::string& stage, int rank, const char* what) const {
    const fs::path marks = fs::path(c_.stage_dir(stage)) / ".start";
    fs::create_directories(marks);
    return (marks / fmt::format("{}.rank{}.{}", run_id_, rank, what)).string();
  }
  void give_up(const std::string& stage) {
    write_file_atomic(start_mark(stage, me_, "gave_up"), "\n");
  }
  bool all_members_start(const std::string& name, const PlannedStage& planned, bool ready) {
    const auto anyone_gave_up = [&] {
      for (int r : planned.ranks)
        if (fs::exists(start_mark(name, r, "gave_up"))) return true;
      return false;
    };
    if (!ready || stop_requested() || anyone_gave_up()) {
      give_up(name);
      return false;
    }
    write_file_atomic(start_mark(name, me_, "arrived"), "\n");
    for (;;) {
      if (anyone_gave_up()) return false;
      bool all = true;
      for (int r : planned.ranks) all = all && fs::exists(start_mark(name, r, "arrived"));
      if (all) return true;  // a stop that arrives now is the command's: it checkpoints
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // 0 done or skipped, 1 failed (continue), kExitCheckpointedOnSignal stopped.
  int run_stage(const std::string& name) {
    const auto& spec = c_.stage(name);
    const auto& planned = plan_.stage(name);
    auto group = groups_.at(name);
    const bool leader = group->rank() == 0;
    if (status_now(name) == "done") {
      if (leader) say("stage {}: done in an earlier run, skipped", name);
      return 0;
    }
    // Start when the needs are final and every rank of the group has finished its stage before.
    const bool startable = wait_until([&] {
      for (const auto& need : spec.needs)
        if (!is_final(status_now(need))) return false;
      for (int r : planned.ranks) {
        const std::string before = plan_.previous_on_rank(r, name);
        if (!before.empty() && !is_final(status_now(before))) return false;
      }
      return true;
    });
    if (!all_members_start(name, planned, startable)) return kExitCheckpointedOnSignal;
    for (const auto& need : spec.needs) {
      if (status_now(need) == "done") continue;
      if (leader) {
        fs::create_directories(c_.stage_dir(name));
        write_stage_json(c_, name,
                         {{"stage", name},
                          {"command", spec.command},
                          {"status", "skipped"},
                          {"run_id", run_id_},
                          {"ranks", planned.ranks},
                          {"error", fmt::format("needs '{}', which {}", need, status_now(need))}});
        say("stage {}: skipped (needs '{}', which {})", name, need, status_now(need));
      }
      return 0;
    }

    const std::string dir = c_.stage_dir(name);
    const auto argv = command_line(c_, spec);
    nlohmann::json record = read_stage_json(c_, name);
    const double started = now_s();
    if (leader) {
      fs::create_directories(dir + "/logs");
      for (const auto& f : fs::directory_iterator(dir))
        if (f.path().filename().string().rfind("failed.rank", 0) == 0) fs::remove(f.path());
      record["stage"] = name;
      record["command"] = spec.command;
      record["command_line"] = joined(argv);
      record["ranks"] = planned.ranks;
      record["status"] = "running";
      record["run_id"] = run_id_;
      record["started"] = started;
      record["error"] = nullptr;
      if (!record.contains("runs")) record["runs"] = nlohmann::json::array();
      write_stage_json(c_, name, record);
      say("stage {}: {} on rank(s) {} (log: {}/logs/)", name, spec.command,
          rank_text(planned.ranks), dir);
    }
    {
      // The log directory exists; every rank of the group is here (some may still have been
      // finishing an earlier stage: no collective deadline for this wait).
      dist::UnboundedWaitScope other_stages;
      group->barrier();
    }

    int code = 0;
    std::string error;
    {
      OutputToFile log(fmt::format("{}/logs/rank{}.log", dir, group->rank()));
      dist::set_world_override(group);
      try {
        code = run_command_line(argv);
      } catch (const std::exception& e) {
        error = e.what();
      }
      dist::set_world_override(nullptr);
    }
    if (!error.empty()) return on_failure(name, planned, *group, started, error);

    code = int(group->allreduce_scalar(code, dist::ReduceOp::Max));
    const double ended = now_s();
    const std::string status = code == kExitCheckpointedOnSignal ? "stopped"
                               : code == 0                       ? "done"
                                                                 : "failed";
    if (leader) {
      record["status"] = status;
      record["ended"] = ended;
      record["wall_s"] = ended - started;
      record["exit_code"] = code;
      if (status == "failed") record["error"] = fmt::format("the command exited with {}", code);
      record["runs"].push_back({{"started", started}, {"ended", ended}, {"status", status}});
      write_stage_json(c_, name, record);
      say("stage {}: {} in {:.1f} s", name, status, ended - started);
    }
    if (status == "failed" && c_.on_error == "abort")
      dist::abort_job(fmt::format("campaign stage '{}' ({}) exited with {} (on_error: abort)", name,
                                  spec.command, code));
    return status == "done" ? 0 : status == "stopped" ? kExitCheckpointedOnSignal : 1;
  }

  int on_failure(const std::string& name, const PlannedStage& planned, dist::Communicator& group,
                 double started, const std::string& error) {
    const std::string dir = c_.stage_dir(name);
    const std::string what =
        fmt::format("campaign stage '{}' ({}, world ranks {}) failed on world rank {}: {}", name,
                    c_.stage(name).command, rank_text(planned.ranks), me_, error);
    write_file_atomic(fmt::format("{}/failed.rank{}", dir, group.rank()), what + "\n");
    if (c_.on_error == "abort") dist::abort_job(what + "\n(on_error: abort)");

    // continue: the stage is failed only when every rank of its group failed; a rank still in a
    // collective would never come back, so after the grace period the job ends instead.
    const double deadline = now_s() + c_.failure_grace_s;
    bool all_failed = false;
    while (now_s() < deadline) {
      all_failed = true;
      for (int k = 0; k < group.size(); ++k)
        all_failed = all_failed && fs::exists(fmt::format("{}/failed.rank{}", dir, k));
      if (all_failed) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (!all_failed)
      dist::abort_job(what +
                      fmt::format("\n(on_error: continue, but not every rank of the stage's group "
                                  "failed within {} s: they are blocked in a collective, so the "
                                  "job ends rather than hang)",
                                  c_.failure_grace_s));
    if (group.rank() == 0) {
      nlohmann::json record = read_stage_json(c_, name);
      const double ended = now_s();
      record["status"] = "failed";
      record["ended"] = ended;
      record["wall_s"] = ended - started;
      record["error"] = error;
      record["runs"].push_back({{"started", started}, {"ended", ended}, {"status", "failed"}});
      write_stage_json(c_, name, record);
      say("stage {}: FAILED ({}); on_error: continue, the stages that need it are skipped", name,
          error);
    }
    return 1;
  }

  template <class... Args>
  void say(fmt::format_string<Args...> f, Args&&... args) {
    std::printf("[campaign] %s\n", fmt::format(f, std::forward<Args>(args)...).c_str());
    std::fflush(stdout);
  }

  const CampaignConfig& c_;
  const Plan& plan_;
  std::shared_ptr<dist::Communicator> world_;
  int me_;
  std::string run_id_;
  std::map<std::string, std::shared_ptr<dist::Communicator>> groups_;
};

}  // namespace

std::string stage_status(const CampaignConfig& c, const std::string& stage) {
  return read_stage_json(c, stage).value("status", "");
}

int run_campaign(const CampaignConfig& c, const Plan& plan,
                 std::shared_ptr<dist::Communicator> world) {
  return CampaignRun(c, plan, std::move(world)).run();
}

}  // namespace kd::methods::campaign

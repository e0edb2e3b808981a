// A campaign (`kdprune campaign --config campaign.yaml`): named stages, each one kdprune command
// with its own config, run concurrently on rank groups of one job where their needs allow.
//
//   campaign_dir: runs/study          # each stage runs in campaign_dir/<stage>/
//   on_error: abort                   # abort | continue
//   stages:
//     teacher:  {command: pretrain, config: configs/quickstart.yaml, ranks: 2}
//     tutor_kd:
//       command: distill
//       config: configs/distill-quickstart.yaml
//       set: {teacher.dir: "${teacher.model}", distill.method: tutor_kd}
//       ranks: auto
//     probe:
//       command: eval-probe             # a command without a config takes `args`
//       args: [--model, "${tutor_kd.model}", --probes, probes/test]
//
// `${S.model}` is the model stage S publishes (S's run_dir/model), `${S.run_dir}` its directory
// (a stage may name its own, e.g. for an inference command's --json),
// `${campaign_dir}` the campaign's; a stage that reads another's output waits for it (as if it
// were in `needs`). Everything here is checked before any stage runs.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace kd::methods::campaign {

struct StageSpec {
  std::string name;
  std::string command;             // a kdprune command (pretrain, distill, eval-probe, ...)
  std::string config;              // its --config (commands that take one)
  std::vector<std::string> sets;   // its --set key=value overrides, in order
  std::vector<std::string> args;   // further command-line arguments
  std::vector<std::string> needs;  // stages that must finish first (incl. ${...} readers)
  int ranks = 0;                   // 0 = auto
  double cost_s = 0;               // optional: expected seconds on one rank (else estimated)
};

struct CampaignConfig {
  std::string source;  // the campaign file (for messages)
  std::string campaign_dir = "runs/campaign";
  std::string on_error = "abort";   // abort | continue
  std::string backend = "auto";     // dist.backend of the groups: auto | mpi | nccl
  std::string device = "cpu";       // cpu | cuda (NCCL groups on cuda)
  double rank_gflops = 100;         // the cost model: sustained GFLOP/s of one rank,
  double link_gbytes_per_s = 12.5;  // its all-reduce link (100 Gbit/s) and latency
  double link_latency_us = 5;
  double failure_grace_s = 20;    // on_error continue: wait for the group's other ranks
  std::vector<StageSpec> stages;  // in the file's order
  // Text of the campaign file with its overrides (a resumed campaign must plan the same).
  std::string effective_yaml;

  const StageSpec& stage(const std::string& name) const;
  bool has_stage(const std::string& name) const;
  std::string stage_dir(const std::string& name) const;
};

// Loads and checks a campaign: known keys only, known commands, ranks a count or auto, needs and
// ${...} references naming stages that exist (and publish a model for `.model`), no cycle, no
// stage asking for more ranks than `world`. Errors name the file and the stage.
CampaignConfig load_campaign(const std::string& path, const std::vector<std::string>& sets,
                             int world);

// Stage names in an order where every stage comes after its needs (the file's order otherwise).
std::vector<std::string> dependency_order(const CampaignConfig& c);

// Replaces the ${...} references in `text` (see the top of this file).
std::string resolve_references(const CampaignConfig& c, const std::string& text);

// Whether `command` writes run_dir/model (pretrain, distill, schubert).
bool publishes_model(const std::string& command);
// Whether `command` takes --config / --set and a run_dir (the training commands).
bool takes_config(const std::string& command);

}  // namespace kd::methods::campaign

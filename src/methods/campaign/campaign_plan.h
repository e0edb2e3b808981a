// The campaign's plan: which ranks run each stage and when, fixed before anything runs so that
// every rank knows its groups (one communicator split per stage, made up front) and the order of
// its own stages. Made by list scheduling over the cost model (stage_cost.h):
//
//   at t = 0 and whenever a stage is expected to end, the stages whose needs have ended start in
//   the file's order on the lowest free ranks: a fixed `ranks: N` stage when N ranks are free
//   (else it and the stages after it wait for the next end), the `auto` stages of that moment
//   one rank each (longest first when there are fewer free ranks than stages); free ranks left
//   go one at a time to the auto stage with the longest expected duration that still shortens
//   (units split over groups), then, when no stage is left waiting, to the auto stages that
//   take a batch per rank (more data in the same time).
//
// So concurrent groups are sized to finish close together, and a group whose stage ends takes
// the next ready stage. At run time a stage starts when its needs have finished and its ranks
// have finished their previous stages (the plan's times are estimates).
#pragma once
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "methods/campaign/campaign_config.h"
#include "methods/campaign/stage_cost.h"

namespace kd::methods::campaign {

struct PlannedStage {
  std::string name;
  std::vector<int> ranks;  // world ranks, ascending
  double start_s = 0, end_s = 0;
  StageEstimate estimate;
};

struct Plan {
  int world = 1;
  std::vector<PlannedStage> stages;  // by planned start, then file order
  double makespan_s = 0;
  double sequential_s = 0;  // every stage one after another on all ranks (the shell-script way)

  const PlannedStage& stage(const std::string& name) const;
  // The stages `rank` runs, in order.
  std::vector<std::string> stages_of_rank(int rank) const;
  // The stage `rank` runs before `name` ("" when `name` is its first).
  std::string previous_on_rank(int rank, const std::string& name) const;
};

Plan make_plan(const CampaignConfig& c, const std::map<std::string, StageEstimate>& estimates,
               int world);

// Estimates every stage in dependency order; a stage's published model is known to the stages
// after it (its parameters from the producing stage's config).
std::map<std::string, StageEstimate> estimate_stages(const CampaignConfig& c);

nlohmann::json plan_json(const Plan& p);
std::string plan_table(const Plan& p);

}  // namespace kd::methods::campaign

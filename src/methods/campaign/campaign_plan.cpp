#include "methods/campaign/campaign_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/check.h"
#include "model/model_dir.h"

namespace kd::methods::campaign {
namespace {

std::string rank_list(const std::vector<int>& ranks) {
  // "0-3" for a contiguous block, else "0,2,5"
  if (ranks.empty()) return "-";
  bool contiguous = ranks.back() - ranks.front() + 1 == int(ranks.size());
  if (contiguous)
    return ranks.size() == 1 ? std::to_string(ranks.front())
                             : fmt::format("{}-{}", ranks.front(), ranks.back());
  std::string s;
  for (int r : ranks) s += (s.empty() ? "" : ",") + std::to_string(r);
  return s;
}

}  // namespace

const PlannedStage& Plan::stage(const std::string& name) const {
  for (const auto& s : stages)
    if (s.name == name) return s;
  KD_FAIL("campaign plan: no stage '{}'", name);
}

std::vector<std::string> Plan::stages_of_rank(int rank) const {
  std::vector<std::string> out;
  for (const auto& s : stages)
    if (std::find(s.ranks.begin(), s.ranks.end(), rank) != s.ranks.end()) out.push_back(s.name);
  return out;
}

std::string Plan::previous_on_rank(int rank, const std::string& name) const {
  std::string previous;
  for (const auto& s : stages_of_rank(rank)) {
    if (s == name) return previous;
    previous = s;
  }
  return previous;
}

std::map<std::string, StageEstimate> estimate_stages(const CampaignConfig& c) {
  std::map<std::string, StageEstimate> estimates;
  std::map<std::string, double> published;  // model dir of an earlier stage -> its parameters
  auto params_of = [&](const std::string& dir) -> double {
    auto it = published.find(std::filesystem::path(dir).lexically_normal().string());
    if (it != published.end() && it->second > 0) return it->second;
    try {
      return encoder_params(model::load_config(dir));
    } catch (const std::exception&) {
      return 1e6;  // unknown: a small model; the stage's own checks report a missing directory
    }
  };
  for (const auto& name : dependency_order(c)) {
    const auto& s = c.stage(name);
    estimates[name] = estimate_stage(c, s, params_of);
    if (publishes_model(s.command))
      published[std::filesystem::path(c.stage_dir(name) + "/model").lexically_normal().string()] =
          estimates[name].output_params;
  }
  return estimates;
}

Plan make_plan(const CampaignConfig& c, const std::map<std::string, StageEstimate>& estimates,
               int world) {
  Plan plan;
  plan.world = world;
  std::map<std::string, double> end_of;  // started stages -> expected end
  std::vector<double> free_at(world, 0.0);
  double t = 0;
  auto is_free = [&](int r) { return free_at[r] <= t; };
  while (plan.stages.size() < c.stages.size()) {
    std::vector<int> free;
    for (int r = 0; r < world; ++r)
      if (is_free(r)) free.push_back(r);
    std::vector<const StageSpec*> ready;
    for (const auto& s : c.stages) {
      if (end_of.count(s.name)) continue;
      bool needs_met = std::all_of(s.needs.begin(), s.needs.end(), [&](const std::string& n) {
        return end_of.count(n) && end_of[n] <= t;
      });
      if (needs_met) ready.push_back(&s);
    }
    // Fixed-size stages in file order; auto stages collected for this moment.
    std::vector<const StageSpec*> autos;
    size_t next_free = 0;
    auto start = [&](const StageSpec& s, std::vector<int> ranks) {
      PlannedStage p;
      p.name = s.name;
      p.ranks = std::move(ranks);
      p.estimate = estimates.at(s.name);
      p.start_s = t;
      p.end_s = t + std::max(1e-3, p.estimate.duration_s(int(p.ranks.size())));
      for (int r : p.ranks) free_at[r] = p.end_s;
      end_of[s.name] = p.end_s;
      plan.stages.push_back(p);
    };
    for (const auto* s : ready) {
      const size_t available = free.size() - next_free - autos.size();
      if (s->ranks > 0) {
        if (size_t(s->ranks) > available) break;  // waits; so do the stages after it
        start(*s, std::vector<int>(free.begin() + next_free, free.begin() + next_free + s->ranks));
        next_free += s->ranks;
      } else if (available > 0) {
        autos.push_back(s);
      }
    }
    if (!autos.empty()) {
      std::vector<int> count(autos.size(), 1);
      size_t left = free.size() - next_free - autos.size();
      const bool nothing_waiting = plan.stages.size() + autos.size() == c.stages.size();
      auto dur = [&](size_t i) { return estimates.at(autos[i]->name).duration_s(count[i]); };
      while (left > 0) {
        int best = -1;
        for (size_t i = 0; i < autos.size(); ++i) {
          const auto& e = estimates.at(autos[i]->name);
          if (e.per_rank_batch || count[i] >= e.units) continue;
          if (best < 0 || dur(i) > dur(best)) best = int(i);
        }
        if (best < 0) break;
        ++count[best];
        --left;
      }
      // Spare ranks to the per-rank-batch stages (more data in the same time) only where no
      // waiting stage could have used them: every other stage that runs now ends after them.
      double other_end = -1;
      for (int r = 0; r < world; ++r)
        if (!is_free(r) && (other_end < 0 || free_at[r] < other_end)) other_end = free_at[r];
      for (size_t i = 0; i < autos.size(); ++i)
        if (!estimates.at(autos[i]->name).per_rank_batch &&
            (other_end < 0 || t + dur(i) < other_end))
          other_end = t + dur(i);
      std::vector<size_t> weak;
      for (size_t i = 0; i < autos.size(); ++i)
        if (estimates.at(autos[i]->name).per_rank_batch &&
            (nothing_waiting || other_end < 0 || other_end >= t + dur(i)))
          weak.push_back(i);
      for (size_t k = 0; left > 0 && !weak.empty(); ++k, --left) ++count[weak[k % weak.size()]];
      for (size_t i = 0; i < autos.size(); ++i) {
        start(*autos[i],
              std::vector<int>(free.begin() + next_free, free.begin() + next_free + count[i]));
        next_free += count[i];
      }
    }
    // Next moment: the earliest expected end after t.
    double next = -1;
    for (double e : free_at)
      if (e > t && (next < 0 || e < next)) next = e;
    if (next < 0) {
      KD_CHECK(plan.stages.size() == c.stages.size(),
               "campaign plan: no stage can start (this is a bug: needs were checked)");
      break;
    }
    t = next;
  }
  std::stable_sort(
      plan.stages.begin(), plan.stages.end(),
      [](const PlannedStage& a, const PlannedStage& b) { return a.start_s < b.start_s; });
  for (const auto& s : plan.stages) {
    plan.makespan_s = std::max(plan.makespan_s, s.end_s);
    plan.sequential_s += s.estimate.duration_s(world);
  }
  return plan;
}

nlohmann::json plan_json(const Plan& p) {
  nlohmann::json j = {{"world", p.world},
                      {"makespan_s", p.makespan_s},
                      {"sequential_s", p.sequential_s},
                      {"stages", nlohmann::json::array()}};
  for (const auto& s : p.stages) {
    // The stage's estimated duration on 1, 2, 4, ... 1024 ranks: its scaling curve under the
    // cost model (flat plus communication for a per-rank batch; work / min(r, units) otherwise).
    nlohmann::json scaling = nlohmann::json::object();
    for (int r = 1; r <= 1024; r *= 2) scaling[std::to_string(r)] = s.estimate.duration_s(r);
    j["stages"].push_back({{"stage", s.name},
                           {"ranks", s.ranks},
                           {"start_s", s.start_s},
                           {"end_s", s.end_s},
                           {"work_s_one_rank", s.estimate.work_s},
                           {"per_rank_batch", s.estimate.per_rank_batch},
                           {"units", s.estimate.units},
                           {"sync_steps", s.estimate.sync_steps},
                           {"sync_bytes", s.estimate.sync_bytes},
                           {"duration_s_by_ranks", scaling},
                           {"basis", s.estimate.basis}});
  }
  return j;
}

std::string plan_table(const Plan& p) {
  std::string out = fmt::format("{:<20} {:>9} {:>10} {:>10}  {}\n", "stage", "ranks", "start (s)",
                                "end (s)", "estimate");
  for (const auto& s : p.stages)
    out += fmt::format("{:<20} {:>9} {:>10.0f} {:>10.0f}  {}\n", s.name, rank_list(s.ranks),
                       s.start_s, s.end_s, s.estimate.basis);
  out += fmt::format(
      "expected makespan {:.0f} s on {} rank(s); the same stages one after another on all ranks: "
      "{:.0f} s\n",
      p.makespan_s, p.world, p.sequential_s);
  return out;
}

}  // namespace kd::methods::campaign

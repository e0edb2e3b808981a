// The campaign planner (list scheduling over the cost model) on hand-made stages and estimates:
// needs respected, fixed sizes kept, auto groups sized so concurrent stages end together,
// per-rank-batch stages not given ranks a waiting stage could use, references resolved. (Loading
// campaign files, running and refusing them: tests/e2e/campaign_test.sh.)
#include <gtest/gtest.h>

#include "methods/campaign/campaign_plan.h"

namespace kd::methods::campaign {
namespace {

StageSpec stage(const std::string& name, int ranks, std::vector<std::string> needs = {}) {
  StageSpec s;
  s.name = name;
  s.command = "eval-probe";
  s.ranks = ranks;
  s.needs = std::move(needs);
  return s;
}

StageEstimate units(double work_s, int64_t n) {
  StageEstimate e;
  e.work_s = work_s;
  e.units = n;
  return e;
}

StageEstimate per_rank(double work_s) {
  StageEstimate e;
  e.work_s = work_s;
  e.per_rank_batch = true;
  return e;
}

TEST(CampaignPlan, NeedsFirstThenAutoGroupsSizedByWork) {
  CampaignConfig c;
  c.stages = {stage("teacher", 4), stage("big", 0, {"teacher"}), stage("small", 0, {"teacher"})};
  // big: 300 s of work, small: 100 s, both split over up to 10 units.
  const Plan p = make_plan(
      c, {{"teacher", per_rank(50)}, {"big", units(300, 10)}, {"small", units(100, 10)}}, 4);
  const auto& t = p.stage("teacher");
  EXPECT_EQ(t.ranks, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_DOUBLE_EQ(t.end_s, 50);
  const auto& big = p.stage("big");
  const auto& small = p.stage("small");
  EXPECT_DOUBLE_EQ(big.start_s, 50);  // after its need
  EXPECT_DOUBLE_EQ(small.start_s, 50);
  // 4 ranks: 3 for 300 s of work, 1 for 100 s: both end 100 s later.
  EXPECT_EQ(big.ranks.size(), 3u);
  EXPECT_EQ(small.ranks.size(), 1u);
  EXPECT_DOUBLE_EQ(big.end_s, 150);
  EXPECT_DOUBLE_EQ(small.end_s, 150);
  EXPECT_DOUBLE_EQ(p.makespan_s, 150);
  // One after another on all ranks: 50 + 300/4 + 100/4.
  EXPECT_DOUBLE_EQ(p.sequential_s, 150);
  EXPECT_EQ(p.stages_of_rank(0), (std::vector<std::string>{"teacher", "big"}));
  EXPECT_EQ(p.previous_on_rank(3, "small"), "teacher");
}

TEST(CampaignPlan, AFinishedGroupTakesTheNextReadyStage) {
  CampaignConfig c;
  c.stages = {stage("a", 1), stage("b", 1), stage("c", 1)};
  const Plan p = make_plan(c, {{"a", per_rank(10)}, {"b", per_rank(30)}, {"c", per_rank(5)}}, 2);
  EXPECT_EQ(p.stage("a").ranks, (std::vector<int>{0}));
  EXPECT_EQ(p.stage("b").ranks, (std::vector<int>{1}));
  EXPECT_EQ(p.stage("c").ranks, (std::vector<int>{0}));  // rank 0 is free first
  EXPECT_DOUBLE_EQ(p.stage("c").start_s, 10);
  EXPECT_DOUBLE_EQ(p.makespan_s, 30);
}

TEST(CampaignPlan, AFixedStageWaitsForItsRanksAndKeepsFileOrder) {
  CampaignConfig c;
  c.stages = {stage("first", 1), stage("wide", 2), stage("later", 0)};
  const Plan p =
      make_plan(c, {{"first", per_rank(10)}, {"wide", per_rank(10)}, {"later", units(10, 4)}}, 2);
  EXPECT_DOUBLE_EQ(p.stage("wide").start_s, 10);   // needs both ranks
  EXPECT_DOUBLE_EQ(p.stage("later").start_s, 20);  // does not jump ahead of `wide`
  EXPECT_EQ(p.stage("later").ranks.size(), 2u);
}

TEST(CampaignPlan, PerRankBatchStagesGetSpareRanksOnlyWhenNothingWaits) {
  CampaignConfig c;
  c.stages = {stage("train", 0), stage("probe", 0), stage("after", 0, {"probe"})};
  Plan p =
      make_plan(c, {{"train", per_rank(100)}, {"probe", units(20, 1)}, {"after", units(8, 8)}}, 8);
  // probe cannot use more than 1 rank; train gains nothing in time from more; `after` waits, so
  // the 6 other ranks stay free for it.
  EXPECT_EQ(p.stage("train").ranks.size(), 1u);
  EXPECT_EQ(p.stage("probe").ranks.size(), 1u);
  EXPECT_DOUBLE_EQ(p.stage("after").start_s, 20);
  EXPECT_EQ(p.stage("after").ranks.size(), 7u);  // every rank but train's
  c.stages = {stage("train", 0)};
  p = make_plan(c, {{"train", per_rank(100)}}, 8);
  EXPECT_EQ(p.stage("train").ranks.size(), 8u);  // alone: the whole world, as a plain run
  // First of a chain: the stages after it wait for it anyway, so it takes the world.
  c.stages = {stage("train", 0), stage("next", 0, {"train"})};
  p = make_plan(c, {{"train", per_rank(100)}, {"next", units(10, 8)}}, 8);
  EXPECT_EQ(p.stage("train").ranks.size(), 8u);
}

TEST(CampaignConfig, ReferencesResolveToStageDirectories) {
  CampaignConfig c;
  c.campaign_dir = "runs/study";
  c.stages = {stage("teacher", 1)};
  EXPECT_EQ(resolve_references(c, "${teacher.model}"), "runs/study/teacher/model");
  EXPECT_EQ(resolve_references(c, "x=${teacher.run_dir}/masks,${campaign_dir}"),
            "x=runs/study/teacher/masks,runs/study");
  EXPECT_EQ(resolve_references(c, "no reference"), "no reference");
}

TEST(CampaignConfig, DependencyOrderRefusesACycle) {
  CampaignConfig c;
  c.source = "c.yaml";
  c.stages = {stage("b", 1, {"a"}), stage("a", 1), stage("c", 1, {"b"})};
  EXPECT_EQ(dependency_order(c), (std::vector<std::string>{"a", "b", "c"}));
  c.stages[1].needs = {"c"};
  try {
    dependency_order(c);
    FAIL() << "a cycle was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("cycle: b -> a -> c -> b"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kd::methods::campaign

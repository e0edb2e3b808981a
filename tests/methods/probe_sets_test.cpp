// How relmask and prompt size and balance their per-relation work: steps from probes.epochs,
// and the cost model that spreads relations over rank groups (training counted as forward +
// backward, evaluation as forwards), so that a large relation's evaluation is not ignored.
#include <gtest/gtest.h>

#include "methods/probing/probe_sets.h"
#include "methods/probing/relation_split.h"

namespace kd::methods {
namespace {

TEST(ProbeSets, StepsFollowEpochsOrTheFixedCount) {
  ProbeSetSection s;
  s.batch_size = 16;
  EXPECT_EQ(relation_steps(s, 300, 1000, 2), 300);  // no epochs: train.steps
  s.epochs = 10;
  EXPECT_EQ(relation_steps(s, 300, 1000, 1), 625);  // 10 * 1000 / 16
  EXPECT_EQ(relation_steps(s, 300, 1000, 2), 313);  // ceil(10 * 1000 / 32)
  EXPECT_EQ(relation_steps(s, 300, 1, 4), 1);       // at least one step
}

TEST(ProbeSets, WorkCountsTrainingAndEvaluation) {
  ProbeSetSection s;
  s.batch_size = 32;
  // Fixed steps: training costs every relation the same; evaluation tells them apart.
  EXPECT_EQ(relation_work(s, 50, {77000, 350}, {29000, 120}),
            (std::vector<int64_t>{3 * 50 * 32 + 29000, 3 * 50 * 32 + 120}));
  s.epochs = 2;  // epochs: training in proportion to the triples
  EXPECT_EQ(relation_work(s, 50, {1000, 10}, {0, 0}), (std::vector<int64_t>{6000, 60}));
}

TEST(ProbeSets, ALargeRelationsEvaluationGetsItsOwnGroup) {
  // WordNet at 50 steps: IsA's 29k evaluation facts outweigh five small relations together,
  // which then share the other group (a split by training steps alone put three and three).
  ProbeSetSection s;
  s.batch_size = 32;
  const auto work = relation_work(s, 50, {1960, 4914, 77219, 350, 1032, 7125},
                                  {751, 2045, 29240, 122, 375, 2693});
  const auto split = probing::split_relations(work, 2);
  const int isa = split.group_of_relation[2];
  for (size_t r = 0; r < work.size(); ++r) {
    if (r != 2) {
      EXPECT_NE(split.group_of_relation[r], isa) << r;
    }
  }
}

}  // namespace
}  // namespace kd::methods

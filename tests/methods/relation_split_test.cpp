#include "methods/probing/relation_split.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace kd::methods::probing {
namespace {

TEST(RelationSplit, EveryRelationExactlyOnceForManyShapes) {
  for (int world : {1, 2, 3, 4, 7, 16})
    for (int relations : {1, 2, 3, 6, 16, 41}) {
      std::vector<int64_t> triples;
      for (int r = 0; r < relations; ++r) triples.push_back(10 + (r * 37) % 101);
      auto s = split_relations(triples, world);
      EXPECT_EQ(s.groups, std::min(world, relations));
      std::vector<int> seen(relations, 0);
      for (int g = 0; g < s.groups; ++g)
        for (size_t r : s.relations_of(g)) ++seen[r];
      for (int r = 0; r < relations; ++r)
        EXPECT_EQ(seen[r], 1) << "W=" << world << " R=" << relations << " relation " << r;
      // Every rank is in a group that has work (W > R: several ranks per relation group).
      for (int rank = 0; rank < world; ++rank)
        EXPECT_FALSE(s.relations_of(s.group_of_rank(rank)).empty()) << world << " " << relations;
    }
}

TEST(RelationSplit, SharesBalanceByTriples) {
  // One big relation and many small ones over 2 groups: the big one alone in a group.
  auto s = split_relations({1000, 100, 100, 100, 100, 100}, 2);
  EXPECT_EQ(s.relations_of(s.group_of_relation[0]).size(), 1u);
  EXPECT_EQ(s.relations_of(1 - s.group_of_relation[0]).size(), 5u);
  // Equal relations: equal counts per group.
  auto e = split_relations(std::vector<int64_t>(8, 50), 4);
  for (int g = 0; g < 4; ++g) EXPECT_EQ(e.relations_of(g).size(), 2u);
}

}  // namespace
}  // namespace kd::methods::probing

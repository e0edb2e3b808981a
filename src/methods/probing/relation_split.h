// Which ranks train which relations (LAMP runs many relations concurrently): W ranks form
// G = min(W, R) groups (rank r is in group r mod G, so a group of more than one rank trains its
// relations data-parallel); relations go to groups largest first, each to the group with the
// least work so far (ties: lowest group), so shares balance by work: each relation's cost in
// forward passes, training and evaluation (relation_work in probe_sets.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kd::methods::probing {

struct RelationSplit {
  int groups = 1;
  std::vector<int> group_of_relation;  // per relation (input order)
  int group_of_rank(int rank) const { return rank % groups; }
  // Relations of group g, in input order.
  std::vector<size_t> relations_of(int g) const;
};

RelationSplit split_relations(const std::vector<int64_t>& work_per_relation, int world);

}  // namespace kd::methods::probing

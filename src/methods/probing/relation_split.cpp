#include "methods/probing/relation_split.h"

#include <algorithm>
#include <numeric>

#include "common/check.h"

namespace kd::methods::probing {

std::vector<size_t> RelationSplit::relations_of(int g) const {
  std::vector<size_t> out;
  for (size_t r = 0; r < group_of_relation.size(); ++r)
    if (group_of_relation[r] == g) out.push_back(r);
  return out;
}

RelationSplit split_relations(const std::vector<int64_t>& work, int world) {
  KD_CHECK(world >= 1, "split_relations: world {} < 1", world);
  KD_CHECK(!work.empty(), "split_relations: no relations");
  RelationSplit s;
  s.groups = std::min<int>(world, static_cast<int>(work.size()));
  s.group_of_relation.assign(work.size(), 0);
  std::vector<size_t> order(work.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return work[a] > work[b]; });
  std::vector<int64_t> load(static_cast<size_t>(s.groups), 0);
  for (size_t r : order) {
    const auto g = std::min_element(load.begin(), load.end()) - load.begin();
    load[static_cast<size_t>(g)] += std::max<int64_t>(1, work[r]);
    s.group_of_relation[r] = static_cast<int>(g);
  }
  return s;
}

}  // namespace kd::methods::probing

// The per-relation loop that relmask and prompt share: relations split over groups of ranks
// (relation_split.h), each group training its share one relation at a time, a result file per
// finished relation (run_dir/relations/<name>.json) so that a re-run keeps it, and every result
// gathered to rank 0.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "dist/communicator.h"

namespace kd::methods::relmask {

// train(r, group) trains relations[r] on this rank's group communicator and returns its result
// (the same on every rank of the group). `work[r]` (facts to process) balances the split. Returns
// the results of all relations sorted by "relation" on rank 0, an empty array elsewhere. Collective
// over comm.
using TrainRelation = std::function<nlohmann::json(size_t relation, dist::Communicator& group)>;
nlohmann::json run_relations(const std::vector<std::string>& relations,
                             const std::vector<int64_t>& work, dist::Communicator& comm,
                             const std::string& run_dir, const char* log_tag,
                             const TrainRelation& train);

}  // namespace kd::methods::relmask

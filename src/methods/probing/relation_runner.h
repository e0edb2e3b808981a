// The per-relation loop that relmask and prompt share: relations split over groups of ranks
// (relation_split.h), each group training its share one relation at a time through the Trainer
// (run_dir/relations/<name>/: metrics.jsonl and checkpoints, so a stop signal checkpoints in the
// middle of a relation and a re-run resumes there), a result file per finished relation
// (run_dir/relations/<name>.json) so that a re-run keeps it, and every result gathered to rank 0.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace kd::methods::probing {

struct RelationContext {
  size_t index = 0;                           // into the relations list
  std::string units_dir = "relations";        // run_dir/<units_dir>/<name>/: its Trainer run
  std::shared_ptr<dist::Communicator> group;  // this rank's group
  int64_t steps_before = 0;  // steps of the relations this group trained before this one
};

// train(ctx) trains relations[ctx.index] on its group and returns its result (the same on every
// rank of the group; it must hold "steps"), or nothing when a stop signal ended its training
// (checkpointed, to be resumed by a re-run).
using TrainRelation = std::function<std::optional<nlohmann::json>(const RelationContext&)>;

struct RelationsOutcome {
  nlohmann::json report;  // rank 0: the finished relations' results sorted by "relation"
  bool stopped = false;   // every rank: some group stopped on a signal before finishing its share
};

// Where results go and what they are sorted by: relations (relmask, prompt) by default; other
// units of independent work (finetune's runs) name their own.
struct UnitNaming {
  std::string dir = "relations";  // run_dir/<dir>/<name>.json and run_dir/<dir>/<name>/
  std::string key = "relation";   // the result field the report is sorted by
};

// `work[r]` (facts to process) balances the split. Collective over comm.
RelationsOutcome run_relations(const std::vector<std::string>& relations,
                               const std::vector<int64_t>& work, dist::Communicator& comm,
                               const std::string& run_dir, const char* log_tag,
                               const TrainRelation& train, const UnitNaming& naming = {});

// Trains one relation's task for `steps` through the Trainer on ctx.group, in
// run_dir/<ctx.units_dir>/<relation>/ with the command's config otherwise (optimizer, schedule,
// clipping, logging, checkpoints; `seed` seeds the relation's RNG streams). resume: never starts
// the relation afresh, anything else continues its checkpoint; debug.stop_after_step counts the
// group's steps over all its relations.
train::TrainResult train_relation_steps(const train::JobConfig& command,
                                        const std::string& config_yaml, const std::string& relation,
                                        int64_t steps, uint64_t seed, const RelationContext& ctx,
                                        train::TrainingTask& task);

}  // namespace kd::methods::probing

// Runs a planned campaign on the world: one communicator per stage made up front (a split of
// the world; NCCL communicators per group on GPUs), then every rank runs its own stages in the
// plan's order, each as the kdprune command line it is (`kdprune distill --config ... --set
// run_dir=campaign_dir/<stage>`) on its group (dist::set_world_override), its output in
// campaign_dir/<stage>/logs/rank<k>.log.
//
// Coordination is through campaign_dir/<stage>/stage.json, written by the group's rank 0
// (status running → done | stopped | failed | skipped), so ranks never sit in a world collective
// while other groups work: a rank starts a stage once the stage's needs are done and each rank
// of its group has finished the stage before it (files polled; once that holds it stays true,
// so all ranks of a group enter together even when a signal arrives meanwhile).
//  - Resume: a stage already done is skipped; any other reruns (the command resumes from its own
//    checkpoints).
//  - SIGTERM/SIGUSR1: running stages checkpoint and stop (their Trainer agrees within the group),
//    waiting ranks stop waiting; exit 85 on every rank.
//  - on_error abort: the failing rank ends the job (MPI_Abort) naming the stage and its message.
//    on_error continue: the rank writes failed.rank<k>; when every rank of the group has failed
//    within failure_grace_s (an error they all see: input, config, divergence) the stage is
//    marked failed, its dependants skipped, and the others go on; when some rank of the group did
//    not fail (it is blocked in a collective), the job ends as under abort: never a hang.
#pragma once
#include <memory>

#include "dist/communicator.h"
#include "methods/campaign/campaign_config.h"
#include "methods/campaign/campaign_plan.h"

namespace kd::methods::campaign {

// 0 when every stage is done, kExitCheckpointedOnSignal when stopped by a signal, 1 when a stage
// failed (on_error continue). Collective over `world`.
int run_campaign(const CampaignConfig& c, const Plan& plan,
                 std::shared_ptr<dist::Communicator> world);

// A stage's status from its stage.json ("" when it has not started).
std::string stage_status(const CampaignConfig& c, const std::string& stage);

}  // namespace kd::methods::campaign

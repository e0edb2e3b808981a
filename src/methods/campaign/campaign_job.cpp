// `kdprune campaign --config campaign.yaml [--set key=value] [--dry-run [--world N] [--json F]]`:
// plans the stages over the job's ranks, prints and saves the plan, runs it, writes the report.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "common/check.h"
#include "common/command_registry.h"
#include "common/file_io.h"
#include "common/log.h"
#include "dist/communicator.h"
#include "methods/campaign/campaign_config.h"
#include "methods/campaign/campaign_plan.h"
#include "methods/campaign/campaign_report.h"
#include "methods/campaign/campaign_runner.h"

namespace kd::methods::campaign {
namespace {

struct CampaignArgs {
  std::string config;
  std::vector<std::string> sets;
  bool dry_run = false;
  int world = 0;
  std::string json;  // --dry-run: the plan as JSON here too (with each stage's scaling curve)
};

// Under mpirun or srun without MPI started (a dry run): the launcher's task count.
int launcher_world_size() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char* v = std::getenv(var)) return std::max(1, std::atoi(v));
  return 1;
}

Plan plan_for(const CampaignConfig& c, int world) {
  return make_plan(c, estimate_stages(c), world);
}

int run(const CampaignArgs& a) {
  if (a.dry_run) {
    const int world = a.world > 0 ? a.world : launcher_world_size();
    const auto c = load_campaign(a.config, a.sets, world);
    const Plan plan = plan_for(c, world);  // estimating reads every stage's shards: once
    std::printf("== campaign plan (%s, %d rank(s); dry run: nothing runs) ==\n%s", a.config.c_str(),
                world, plan_table(plan).c_str());
    if (!a.json.empty()) write_file_atomic(a.json, plan_json(plan).dump(1) + "\n");
    return 0;
  }
  KD_CHECK(a.world == 0, "--world is for --dry-run; a run uses the job's ranks");
  KD_CHECK(a.json.empty(), "--json is for --dry-run; a run writes plan.json to its campaign_dir");
  // The groups' backend and device come from the campaign; the world is made once here.
  auto probe = load_campaign(a.config, a.sets, 1 << 30);
  auto world = dist::make_world_communicator({probe.backend, probe.device, false});
  init_logging(world->rank(), world->size());
  const auto c = load_campaign(a.config, a.sets, world->size());
  const Plan plan = plan_for(c, world->size());
  // Every rank planned from the same files; a difference (a file changing under the job) would
  // give ranks different groups, so it is an error.
  const std::string mine = plan_json(plan).dump();
  KD_CHECK(world->broadcast_string(mine, 0) == mine,
           "campaign plan differs between ranks (did a file change while the job started?)");
  if (world->is_root()) {
    std::filesystem::create_directories(c.campaign_dir);
    write_file_atomic(c.campaign_dir + "/campaign.yaml", c.effective_yaml + "\n");
    write_file_atomic(c.campaign_dir + "/plan.json", plan_json(plan).dump(1) + "\n");
    write_file_atomic(c.campaign_dir + "/plan.txt", plan_table(plan));
    std::printf("== campaign plan (%s, %d rank(s)) ==\n%s", a.config.c_str(), world->size(),
                plan_table(plan).c_str());
    std::fflush(stdout);
  }
  world->barrier();
  const int code = run_campaign(c, plan, world);
  if (world->is_root()) write_report(c, plan);
  return code;
}

cli::Runner add_campaign(CLI::App& sub) {
  auto a = std::make_shared<CampaignArgs>();
  sub.add_option("--config", a->config, "campaign YAML (see configs/*-campaign.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  sub.add_option("--set", a->sets,
                 "override a campaign key: --set campaign_dir=runs/x, "
                 "--set stages.teacher.ranks=2, --set stages.teacher.set.train.steps=50")
      ->take_all();
  sub.add_flag("--dry-run", a->dry_run, "print the plan (stage -> ranks, expected times) only");
  sub.add_option("--world", a->world, "with --dry-run: plan for this many ranks");
  sub.add_option("--json", a->json,
                 "with --dry-run: also write the plan as JSON (per stage its estimate on 1, 2, 4, "
                 "... 1024 ranks)");
  return [a] { return run(*a); };
}

}  // namespace

KD_COMMAND("kdprune", "campaign",
           "run named stages (any kdprune commands) concurrently on rank groups of one job",
           add_campaign);

}  // namespace kd::methods::campaign

// split_commands PRETRAIN_YAML RELMASK_YAML: under `mpirun -np 2`, runs two different commands at
// once on the two halves of the world, each on its own sub-communicator: rank 0 `pretrain`,
// rank 1 `relmask`, as library calls (run_pretrain / run_relmask). The e2e test
// (subcommunicator_test.sh) compares their outputs with each command run alone on 1 rank.
#include <cstdio>

#include "common/config_io.h"
#include "common/log.h"
#include "dist/communicator.h"
#include "methods/pretrain/pretrain_config.h"
#include "methods/relmask/relmask_config.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: split_commands PRETRAIN_YAML RELMASK_YAML (under mpirun -np 2)\n");
    return 2;
  }
  int code = 0;
  try {
    auto world = kd::dist::make_world_communicator({"mpi", "cpu"});
    kd::init_logging(world->rank(), world->size());
    KD_CHECK(world->size() == 2, "split_commands needs 2 ranks, got {}", world->size());
    auto half = world->split(world->rank(), 0);  // two groups of one rank
    if (world->rank() == 0)
      code = kd::methods::run_pretrain(
          kd::config::load<kd::methods::PretrainConfig>(argv[1], {}, "pretrain"), half);
    else
      code = kd::methods::run_relmask(
          kd::config::load<kd::methods::RelmaskConfig>(argv[2], {}, "relmask"), half);
    world->barrier();
  } catch (const std::exception& e) {
    kd::dist::abort_job(e.what(), 1);
  }
  kd::dist::finalize();
  return code;
}

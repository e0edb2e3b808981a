// Commands that read a model directory and print: fill-mask, inspect, eval-probe. Each is a
// library call on a communicator (output on its rank 0); the binary registers them with
// inference_command(), which gives them the world.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/command_registry.h"
#include "dist/communicator.h"

namespace kd::methods {

struct FillMaskArgs {
  std::string model;
  int top_k = 5;
  std::string text;
};
// Per [MASK]: `token<TAB>probability` lines, best first (a blank line between masks).
int run_fill_mask(const FillMaskArgs& args, std::shared_ptr<dist::Communicator> comm);

struct InspectArgs {
  std::string model;
  bool json = false;  // print the dimensions as JSON (per layer, parameter counts) instead
};
int run_inspect(const InspectArgs& args, std::shared_ptr<dist::Communicator> comm);

struct EvalProbeArgs {
  std::string model;
  std::vector<std::string> probes;  // JSONL files or directories of them
  int top_k = 10;
  int64_t batch_size = 64;
  int64_t max_per_relation = 0;  // 0 = all
  std::string precision = "fp32";
  std::string json;
  std::string masks;    // relmask run_dir/masks: a "mask" column where <relation>.safetensors is
  std::string prompts;  // prompt run_dir/prompts: "prompt" and "ensemble" columns likewise
};
int run_eval_probe(const EvalProbeArgs& args, std::shared_ptr<dist::Communicator> comm);

// The world communicator with default options (CPU tensors, auto backend), logging started.
std::shared_ptr<dist::Communicator> start_default_world();

// The runner of a command that takes no config: run(args, the default world).
template <class Args>
cli::Runner inference_command(std::shared_ptr<Args> args,
                              int (*run)(const Args&, std::shared_ptr<dist::Communicator>)) {
  return [args, run] { return run(*args, start_default_world()); };
}

}  // namespace kd::methods

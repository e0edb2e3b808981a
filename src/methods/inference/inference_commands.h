// Commands that read a model directory and print: fill-mask, inspect, eval-probe.
#pragma once
#include <string>
#include <vector>

namespace kd::methods {

struct FillMaskArgs {
  std::string model;
  int top_k = 5;
  std::string text;
};
// Per [MASK]: `token<TAB>probability` lines, best first (a blank line between masks).
int run_fill_mask(const FillMaskArgs& args);

struct InspectArgs {
  std::string model;
};
int run_inspect(const InspectArgs& args);

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
int run_eval_probe(const EvalProbeArgs& args);

}  // namespace kd::methods

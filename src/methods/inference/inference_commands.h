// Commands that read a model directory and print: fill-mask, inspect.
#pragma once
#include <string>

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

}  // namespace kd::methods

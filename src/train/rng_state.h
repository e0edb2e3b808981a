// The default CPU generator's state (dropout, sampling) as text, for exact resume.
#pragma once
#include <string>

namespace kd::train {

std::string cpu_rng_state_hex();
void set_cpu_rng_state_hex(const std::string& hex);

}  // namespace kd::train

// Small helpers for error messages about tensor shapes.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace kd::model {

// "[768, 3072]"
inline std::string shape_str(c10::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}
inline std::string shape_str(const std::vector<int64_t>& s) {
  return shape_str(c10::IntArrayRef(s));
}

}  // namespace kd::model

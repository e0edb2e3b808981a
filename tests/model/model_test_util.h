// Helpers shared by the model tests: running tests/model/reference_bert.py (the independent
// Python reference of Hugging Face BertForPreTraining) and comparing tensors.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "support/test_support.h"

namespace kd::model::testing {

// "" when /usr/bin/python3 with torch is usable, else the reason to skip.
inline std::string python_torch_unavailable() {
  static const std::string reason = [] {
    if (std::system("test -x /usr/bin/python3") != 0)
      return std::string("/usr/bin/python3 not found");
    if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
      return std::string("/usr/bin/python3 cannot import torch (install python3-torch)");
    return std::string();
  }();
  return reason;
}

// Runs reference_bert.py with `args`; returns its exit status.
inline int run_reference(const std::string& args) {
  const std::string cmd =
      "/usr/bin/python3 " + kd::test::source_path("tests/model/reference_bert.py") + " " + args;
  return WEXITSTATUS(std::system(cmd.c_str()));
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  if (a.numel() == 0) return 0.0;
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace kd::model::testing

#define KD_SKIP_WITHOUT_PYTHON_TORCH()                                         \
  do {                                                                         \
    const std::string why = ::kd::model::testing::python_torch_unavailable();  \
    if (!why.empty()) GTEST_SKIP() << "reference needs Python torch: " << why; \
  } while (0)

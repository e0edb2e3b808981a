#include "model/fast_dropout.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <mutex>

#include "common/check.h"

namespace kd::model {
namespace {

template <typename T>
void fill_mask(T* m, int64_t n, uint32_t threshold, float scale) {
  auto gen = at::detail::getDefaultCPUGenerator();
  auto* impl = gen.get<at::CPUGeneratorImpl>();
  std::lock_guard<std::mutex> lock(gen.mutex());
  const T keep = static_cast<T>(scale), drop = static_cast<T>(0.0f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint64_t r = impl->random64();
    m[i] = (r & 0xFFFF) < threshold ? drop : keep;
    m[i + 1] = ((r >> 16) & 0xFFFF) < threshold ? drop : keep;
    m[i + 2] = ((r >> 32) & 0xFFFF) < threshold ? drop : keep;
    m[i + 3] = (r >> 48) < threshold ? drop : keep;
  }
  if (i < n) {
    uint64_t r = impl->random64();
    for (; i < n; ++i, r >>= 16) m[i] = (r & 0xFFFF) < threshold ? drop : keep;
  }
}

}  // namespace

torch::Tensor fast_dropout(const torch::Tensor& x, double p, bool train) {
  if (!train || p == 0.0) return x;
  KD_CHECK(p > 0.0 && p < 1.0, "dropout probability {} outside [0, 1)", p);
  if (!x.device().is_cpu()) return torch::dropout(x, p, train);
  const auto threshold = static_cast<uint32_t>(std::llround(p * 65536.0));
  const auto scale = static_cast<float>(1.0 / (1.0 - p));
  torch::Tensor mask = torch::empty(x.sizes(), x.options().requires_grad(false));
  if (mask.scalar_type() == torch::kFloat) {
    fill_mask(mask.data_ptr<float>(), mask.numel(), threshold, scale);
  } else if (mask.scalar_type() == torch::kBFloat16) {
    fill_mask(mask.data_ptr<c10::BFloat16>(), mask.numel(), threshold, scale);
  } else {
    return torch::dropout(x, p, train);
  }
  return x * mask;
}

}  // namespace kd::model

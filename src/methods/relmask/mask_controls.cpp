#include "methods/relmask/mask_controls.h"

#include <functional>

#include "common/check.h"
#include "text/pretraining_instances.h"
#include "train/trainer.h"

namespace kd::methods::relmask {
namespace {

void require_same_matrices(const RelationMasks& a, const RelationMasks& b) {
  KD_CHECK(a.names() == b.names(), "mask sets cover different matrices ({} vs {})",
           a.names().size(), b.names().size());
}

}  // namespace

uint64_t control_seed(uint64_t job_seed, const std::string& relation) {
  return text::mix_seed(train::derive_seed(job_seed, std::hash<std::string>{}(relation)), 0x52);
}

void randomise_like(RelationMasks& out, const RelationMasks& like, uint64_t seed) {
  require_same_matrices(out, like);
  auto gen = at::detail::createCPUGenerator(seed);
  for (size_t i = 0; i < out.logits().size(); ++i) {
    const auto& g = out.logits()[i];
    const int64_t n = g.numel();
    const int64_t kept = like.hard_mask(i).sum().item<int64_t>();
    auto keep = torch::zeros({n}, torch::kBool);
    keep.index_fill_(0, torch::randperm(n, gen, torch::kLong).narrow(0, 0, kept), true);
    out.set_hard_mask(i, keep.view(g.sizes()));
  }
}

double flipped_fraction(const RelationMasks& a, const RelationMasks& b) {
  require_same_matrices(a, b);
  double flipped = 0, total = 0;
  for (size_t i = 0; i < a.names().size(); ++i) {
    const auto hard = a.hard_mask(i);
    flipped += hard.ne(b.hard_mask(i)).sum().item<double>();
    total += static_cast<double>(hard.numel());
  }
  return total > 0 ? flipped / total : 0.0;
}

nlohmann::json mask_overlap(const std::vector<RelationMasks>& masks) {
  KD_CHECK(!masks.empty(), "mask_overlap: no masks");
  const int64_t R = static_cast<int64_t>(masks.size());
  auto both = torch::zeros({R, R}, torch::kDouble);
  auto expected = torch::zeros({R, R}, torch::kDouble);
  double total = 0;
  for (size_t i = 0; i < masks.front().names().size(); ++i) {
    std::vector<torch::Tensor> rows;
    for (const auto& m : masks) {
      require_same_matrices(m, masks.front());
      rows.push_back(m.hard_mask(i).flatten().to(torch::kCPU, torch::kFloat));
    }
    auto h = torch::stack(rows);  // R × n, 0/1: counts below 2^24 stay exact in float
    const double n = static_cast<double>(h.size(1));
    auto kept = h.sum(1).to(torch::kDouble);
    both += h.matmul(h.t()).to(torch::kDouble);
    expected += kept.unsqueeze(1) * kept.unsqueeze(0) / n;
    total += n;
  }
  both /= total;
  expected /= total;
  auto ratio = both / expected.clamp_min(1e-300);
  auto to_json = [&](const torch::Tensor& t) {
    auto out = nlohmann::json::array();
    for (int64_t a = 0; a < R; ++a) {
      std::vector<double> row;
      for (int64_t b = 0; b < R; ++b) row.push_back(t[a][b].item<double>());
      out.push_back(row);
    }
    return out;
  };
  double off_diagonal = 0;
  for (int64_t a = 0; a < R; ++a)
    for (int64_t b = 0; b < R; ++b)
      if (a != b) off_diagonal += ratio[a][b].item<double>() / static_cast<double>(R * (R - 1));
  return {{"kept_both", to_json(both)},
          {"expected", to_json(expected)},
          {"ratio", to_json(ratio)},
          {"mean_ratio_off_diagonal", R > 1 ? off_diagonal : 0.0}};
}

double independent_combination_sparsity(const std::vector<RelationMasks>& masks,
                                        const std::string& how) {
  KD_CHECK(how == "union" || how == "intersection",
           "independent_combination_sparsity: union or intersection, not '{}'", how);
  KD_CHECK(!masks.empty(), "independent_combination_sparsity: no masks");
  double zeros = 0, total = 0;
  for (size_t i = 0; i < masks.front().names().size(); ++i) {
    double all_zero = 1, all_kept = 1;  // Π z_r, Π (1 − z_r)
    double n = 0;
    for (const auto& m : masks) {
      require_same_matrices(m, masks.front());
      auto hard = m.hard_mask(i);
      n = static_cast<double>(hard.numel());
      const double keep = hard.sum().item<double>() / n;
      all_zero *= 1 - keep;
      all_kept *= keep;
    }
    zeros += n * (how == "union" ? all_zero : 1 - all_kept);
    total += n;
  }
  return total > 0 ? zeros / total : 0.0;
}

}  // namespace kd::methods::relmask

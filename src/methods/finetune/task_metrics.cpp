#include "methods/finetune/task_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/check.h"

namespace kd::methods::finetune {
namespace {

void check_pair(size_t a, size_t b, const char* what) {
  KD_CHECK(a == b, "{}: {} predictions for {} gold labels", what, a, b);
  KD_CHECK(a > 0, "{}: no predictions to score", what);
}

// counts[g][p]: gold class g predicted as p.
std::vector<std::vector<double>> confusion(const std::vector<int64_t>& predicted,
                                           const std::vector<int64_t>& gold, int64_t classes) {
  std::vector<std::vector<double>> c(static_cast<size_t>(classes),
                                     std::vector<double>(static_cast<size_t>(classes), 0.0));
  for (size_t i = 0; i < gold.size(); ++i) {
    KD_CHECK(gold[i] >= 0 && gold[i] < classes && predicted[i] >= 0 && predicted[i] < classes,
             "class id out of range [0, {}) at item {} (gold {}, predicted {})", classes, i,
             gold[i], predicted[i]);
    c[static_cast<size_t>(gold[i])][static_cast<size_t>(predicted[i])] += 1;
  }
  return c;
}

double f1_of(double tp, double fp, double fn) {
  const double denom = 2 * tp + fp + fn;
  return denom > 0 ? 2 * tp / denom : 0.0;
}

}  // namespace

double accuracy(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold) {
  check_pair(predicted.size(), gold.size(), "accuracy");
  size_t right = 0;
  for (size_t i = 0; i < gold.size(); ++i) right += predicted[i] == gold[i];
  return static_cast<double>(right) / static_cast<double>(gold.size());
}

double binary_f1(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                 int64_t positive) {
  check_pair(predicted.size(), gold.size(), "f1");
  double tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    const bool p = predicted[i] == positive, g = gold[i] == positive;
    tp += p && g;
    fp += p && !g;
    fn += !p && g;
  }
  return f1_of(tp, fp, fn);
}

double macro_f1(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                int64_t num_classes) {
  check_pair(predicted.size(), gold.size(), "macro_f1");
  const auto c = confusion(predicted, gold, num_classes);
  double sum = 0;
  for (size_t k = 0; k < c.size(); ++k) {
    double tp = c[k][k], fp = 0, fn = 0;
    for (size_t j = 0; j < c.size(); ++j) {
      if (j == k) continue;
      fp += c[j][k];
      fn += c[k][j];
    }
    sum += f1_of(tp, fp, fn);
  }
  return sum / static_cast<double>(num_classes);
}

double matthews_corrcoef(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                         int64_t num_classes) {
  check_pair(predicted.size(), gold.size(), "mcc");
  const auto c = confusion(predicted, gold, num_classes);
  const size_t k = c.size();
  std::vector<double> t(k, 0), p(k, 0);  // true count per class, predicted count per class
  double correct = 0, n = 0;
  for (size_t g = 0; g < k; ++g)
    for (size_t q = 0; q < k; ++q) {
      t[g] += c[g][q];
      p[q] += c[g][q];
      n += c[g][q];
    }
  for (size_t g = 0; g < k; ++g) correct += c[g][g];
  double tp_sum = 0, tt = 0, pp = 0;
  for (size_t g = 0; g < k; ++g) {
    tp_sum += t[g] * p[g];
    tt += t[g] * t[g];
    pp += p[g] * p[g];
  }
  const double denom = std::sqrt((n * n - pp) * (n * n - tt));
  return denom > 0 ? (correct * n - tp_sum) / denom : 0.0;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  check_pair(x.size(), y.size(), "pearson");
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = mean_rank;
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  check_pair(x.size(), y.size(), "spearman");
  return pearson(average_ranks(x), average_ranks(y));
}

double task_metric(const std::string& name, const std::vector<double>& predicted,
                   const std::vector<double>& gold, int64_t num_classes) {
  if (name == "pearson") return pearson(predicted, gold);
  if (name == "spearman") return spearman(predicted, gold);
  std::vector<int64_t> p, g;
  for (double v : predicted) p.push_back(static_cast<int64_t>(std::llround(v)));
  for (double v : gold) g.push_back(static_cast<int64_t>(std::llround(v)));
  if (name == "accuracy") return accuracy(p, g);
  if (name == "f1") return binary_f1(p, g);
  if (name == "macro_f1") return macro_f1(p, g, num_classes);
  if (name == "mcc") return matthews_corrcoef(p, g, num_classes);
  KD_FAIL("unknown metric '{}' (accuracy | f1 | macro_f1 | mcc | pearson | spearman)", name);
}

}  // namespace kd::methods::finetune

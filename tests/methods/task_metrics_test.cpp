// Downstream metrics against published reference values (SciPy's and scikit-learn's documented
// examples) and hand-computed confusion matrices; tolerance 1e-12 (closed forms in double).
#include <gtest/gtest.h>

#include <cmath>

#include "common/check.h"
#include "methods/finetune/task_metrics.h"

namespace kd::methods::finetune {
namespace {

TEST(TaskMetrics, AccuracyAndBinaryF1) {
  // TP 2, FP 1, FN 1, TN 1: F1 = 2·2 / (2·2 + 1 + 1).
  std::vector<int64_t> gold = {1, 0, 1, 1, 0}, pred = {1, 1, 1, 0, 0};
  EXPECT_NEAR(accuracy(pred, gold), 3.0 / 5, 1e-12);
  EXPECT_NEAR(binary_f1(pred, gold), 4.0 / 6, 1e-12);
  EXPECT_NEAR(binary_f1(pred, gold, /*positive=*/0), 2.0 / 4, 1e-12);
  EXPECT_EQ(binary_f1({0, 0}, {0, 0}), 0.0);  // no positive anywhere: 0, not NaN
}

TEST(TaskMetrics, MacroF1MatchesScikitLearnsExample) {
  // sklearn.metrics.f1_score([0,1,2,0,1,2], [0,2,1,0,0,1], average='macro') = 0.2666...
  EXPECT_NEAR(macro_f1({0, 2, 1, 0, 0, 1}, {0, 1, 2, 0, 1, 2}, 3), 0.26666666666666666, 1e-12);
}

TEST(TaskMetrics, MatthewsCorrelation) {
  // Binary: TP 2, TN 2, FP 1, FN 1 → (4 − 1) / sqrt(3·3·3·3) = 1/3.
  EXPECT_NEAR(matthews_corrcoef({1, 1, 0, 0, 0, 1}, {1, 1, 1, 0, 0, 0}, 2), 1.0 / 3, 1e-12);
  // scikit-learn's documented example, labels +1/−1 as 1/0: −0.333...
  EXPECT_NEAR(matthews_corrcoef({1, 0, 1, 1}, {1, 1, 1, 0}, 2), -1.0 / 3, 1e-12);
  // Three classes, by hand: c = 5, s = 6, t = (2,2,2), p = (2,3,1):
  // (c·s − Σ t·p) / sqrt((s² − Σ p²)(s² − Σ t²)) = (30 − 12) / sqrt(22 · 24).
  EXPECT_NEAR(matthews_corrcoef({0, 0, 1, 1, 2, 1}, {0, 0, 1, 1, 2, 2}, 3), 18 / std::sqrt(528.0),
              1e-12);
  EXPECT_NEAR(matthews_corrcoef({0, 2, 1, 0, 0, 1}, {0, 1, 2, 0, 1, 2}, 3), 0.0, 1e-12);
  EXPECT_NEAR(matthews_corrcoef({2, 0, 1}, {2, 0, 1}, 3), 1.0, 1e-12);
  EXPECT_EQ(matthews_corrcoef({1, 1, 1}, {0, 1, 0}, 2), 0.0);  // constant prediction: 0
}

TEST(TaskMetrics, PearsonAndSpearmanMatchSciPy) {
  // scipy.stats.pearsonr([1,2,3,4,5], [10,9,2.5,6,4]).statistic
  EXPECT_NEAR(pearson({1, 2, 3, 4, 5}, {10, 9, 2.5, 6, 4}), -0.7426106572325057, 1e-12);
  // scipy.stats.spearmanr([1,2,3,4,5], [5,6,7,8,7]).statistic: the two 7s share rank 3.5.
  EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}), 0.8207826816681233, 1e-12);
  EXPECT_EQ(average_ranks({5, 6, 7, 8, 7}), (std::vector<double>{1, 2, 3.5, 5, 3.5}));
  EXPECT_EQ(average_ranks({2, 2, 2}), (std::vector<double>{2, 2, 2}));
  EXPECT_EQ(pearson({1, 1, 1}, {1, 2, 3}), 0.0);  // constant side: 0, not NaN
}

TEST(TaskMetrics, ByNameAndClearErrors) {
  EXPECT_NEAR(task_metric("mcc", {1, 1, 0, 0, 0, 1}, {1, 1, 1, 0, 0, 0}, 2), 1.0 / 3, 1e-12);
  EXPECT_NEAR(task_metric("spearman", {1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}, 0), 0.8207826816681233,
              1e-12);
  EXPECT_THROW(task_metric("auc", {1}, {1}, 2), Error);
  EXPECT_THROW(accuracy({1, 0}, {1}), Error);        // lengths differ
  EXPECT_THROW(accuracy({}, {}), Error);             // nothing to score
  EXPECT_THROW(macro_f1({0, 3}, {0, 1}, 3), Error);  // class id out of range
}

}  // namespace
}  // namespace kd::methods::finetune

// The metrics downstream tasks are judged by (GLUE's official ones): accuracy, binary F1 of the
// positive class, Matthews correlation (CoLA), Pearson and Spearman correlation (STS-B; Spearman
// ranks ties by their average rank), and macro-F1 over many classes. Pure functions of the
// predictions and the gold labels; every one is defined (0, not NaN) on degenerate input such as a
// constant prediction, as scikit-learn and SciPy report it for MCC and F1.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kd::methods::finetune {

double accuracy(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold);
// F1 of class `positive` (GLUE's MRPC and QQP: positive = 1).
double binary_f1(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                 int64_t positive = 1);
// Unweighted mean over the classes 0..num_classes-1 of each class's F1 (a class that is neither
// predicted nor present counts as F1 0, as scikit-learn's default zero_division).
double macro_f1(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                int64_t num_classes);
// Matthews correlation coefficient, the multi-class form (Gorodkin's R_K); binary input gives the
// usual (TP·TN − FP·FN) / sqrt(...). 0 when the denominator is 0.
double matthews_corrcoef(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                         int64_t num_classes);
// Pearson's r; 0 when either side is constant.
double pearson(const std::vector<double>& x, const std::vector<double>& y);
// Spearman's ρ: Pearson's r of the ranks, ties given their average rank.
double spearman(const std::vector<double>& x, const std::vector<double>& y);
// Average ranks (1-based; tied values share the mean of their positions).
std::vector<double> average_ranks(const std::vector<double>& values);

// The metric a task is scored by, by name: accuracy | f1 | macro_f1 | mcc | pearson | spearman.
// Classification metrics read `predicted`/`gold` as class ids.
double task_metric(const std::string& name, const std::vector<double>& predicted,
                   const std::vector<double>& gold, int64_t num_classes);

}  // namespace kd::methods::finetune

// The sequence length and prediction count of the data tests' hand-made shards.
#pragma once

namespace kd::data {
namespace {
constexpr int T = 16, P = 4;
}  // namespace
}  // namespace kd::data

// Precompiled headers: LibTorch dominates compile time on 2 cores, so it is parsed once.
#pragma once
#include <torch/torch.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

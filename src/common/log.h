// Rank-aware logging with component tags. kd::log_info is printed by rank 0 only (the default
// for job progress); kd::log_all by every rank, prefixed with its rank.
#pragma once
#include <spdlog/spdlog.h>

#include <string>

namespace kd {

void init_logging(int rank, int world, const std::string& level = "info");
bool is_log_rank();

template <typename... Args>
void log_info(const char* component, fmt::format_string<Args...> f, Args&&... args) {
  if (is_log_rank())
    spdlog::info("[{}] {}", component, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_warn(const char* component, fmt::format_string<Args...> f, Args&&... args) {
  if (is_log_rank())
    spdlog::warn("[{}] {}", component, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_debug(const char* component, fmt::format_string<Args...> f, Args&&... args) {
  if (is_log_rank())
    spdlog::debug("[{}] {}", component, fmt::format(f, std::forward<Args>(args)...));
}
// Every rank logs (errors, per-rank facts).
template <typename... Args>
void log_all(const char* component, fmt::format_string<Args...> f, Args&&... args) {
  spdlog::info("[{}] {}", component, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_error(const char* component, fmt::format_string<Args...> f, Args&&... args) {
  spdlog::error("[{}] {}", component, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace kd

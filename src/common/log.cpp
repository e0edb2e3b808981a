#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace kd {
namespace {
int g_log_rank = 0;
}

void init_logging(int rank, int world, const std::string& level) {
  g_log_rank = rank;
  // stderr, so that stdout stays clean for command output (fill-mask, tokenize, inspect).
  spdlog::drop("kdprune");  // allow re-initialisation (tests, tools)
  auto logger = spdlog::stderr_color_mt("kdprune");
  std::string pattern = world > 1 ? fmt::format("[%H:%M:%S] [r{}] %^%l%$ %v", rank)
                                  : std::string("[%H:%M:%S] %^%l%$ %v");
  logger->set_pattern(pattern);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

bool is_log_rank() {
  return g_log_rank == 0;
}

}  // namespace kd

#include "common/check.h"

#include <unistd.h>

#include "common/signals.h"

namespace kd {
namespace {
int g_rank = 0;
int g_world = 1;

std::string hostname() {
  char buf[256] = {0};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}
}  // namespace

void set_process_identity(int rank, int world) {
  g_rank = rank;
  g_world = world;
  set_crash_identity(process_where());
}

int process_rank() {
  return g_rank;
}

std::string process_where() {
  return fmt::format("rank {}/{} on {}", g_rank, g_world, hostname());
}

void fail_at(const char* file, int line, const std::string& message, const std::string& hint) {
  std::string text = fmt::format("{} [{} at {}:{}]", message, process_where(), file, line);
  if (!hint.empty()) text += "\n  HINT: " + hint;
  throw Error(text);
}

}  // namespace kd

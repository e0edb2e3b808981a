#include "support/test_support.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

namespace kd::test {
namespace fs = std::filesystem;

namespace {
std::mutex g_mutex;
std::vector<std::string>& created() {
  static std::vector<std::string> dirs;
  return dirs;
}
void cleanup() {
  if (std::getenv("KD_KEEP_TEST_DIRS")) return;
  for (const auto& d : created()) {
    std::error_code ec;
    fs::remove_all(d, ec);
  }
}
}  // namespace

std::string temp_dir(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (created().empty()) std::atexit(cleanup);
  fs::path dir = fs::path(KD_BINARY_DIR) / "test-scratch" /
                 (name + "-" + std::to_string(getpid()) + "-" + std::to_string(created().size()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  created().push_back(dir.string());
  return dir.string();
}

std::string source_path(const std::string& relative) {
  return (fs::path(KD_SOURCE_DIR) / relative).string();
}

std::string vocab_path() {
  return source_path("data/vocab/bert-base-uncased-vocab.txt");
}

void write_text(const std::string& path, const std::string& data) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  std::ofstream f(path, std::ios::binary);
  f << data;
  f.close();
  if (!f) ADD_FAILURE() << "could not write " << path;
}

}  // namespace kd::test

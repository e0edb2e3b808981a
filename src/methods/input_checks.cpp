#include "methods/input_checks.h"

#include <glob.h>

#include <filesystem>

#include "common/check.h"

namespace kd::methods {
namespace fs = std::filesystem;

void require_globs(const std::string& key, const std::vector<std::string>& globs, bool required) {
  if (globs.empty() && !required) return;
  KD_CHECK_HINT(!globs.empty(), "list HDF5 shard files or globs", "{} is empty", key);
  for (const auto& pattern : globs) {
    glob_t g{};
    const int rc = glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
    const size_t matches = rc == 0 ? g.gl_pathc : 0;
    globfree(&g);
    KD_CHECK_HINT(matches > 0,
                  "check the path (relative paths are resolved from the working directory)",
                  "{}: '{}' matches no file", key, pattern);
  }
}

void require_model_dir(const std::string& key, const std::string& dir, bool with_vocab) {
  KD_CHECK_HINT(!dir.empty(), "set it to a model directory (config.json, model.safetensors)",
                "{} is empty", key);
  KD_CHECK_HINT(fs::is_directory(dir),
                "set it to a model directory (config.json, model.safetensors)",
                "{}: '{}' is not a directory", key, dir);
  std::vector<const char*> files = {"config.json", "model.safetensors"};
  if (with_vocab) files.push_back("vocab.txt");
  for (const char* file : files)
    KD_CHECK_HINT(fs::exists(fs::path(dir) / file),
                  "a model directory holds config.json, model.safetensors and vocab.txt",
                  "{}: '{}' has no {}", key, dir, file);
}

void require_file(const std::string& key, const std::string& path) {
  KD_CHECK_HINT(fs::is_regular_file(path), "check the path (relative to the working directory)",
                "{}: cannot read '{}' (no such file)", key, path);
}

void require_dir(const std::string& key, const std::string& dir) {
  KD_CHECK_HINT(fs::is_directory(dir), "check the path (relative to the working directory)",
                "{}: '{}' is not a directory", key, dir);
}

}  // namespace kd::methods

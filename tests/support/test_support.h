// Shared helpers for tests: temporary directories and source-tree paths.
#pragma once
#include <string>

namespace kd::test {

// A fresh directory under the build tree's test scratch area, removed at process exit unless
// KD_KEEP_TEST_DIRS is set.
std::string temp_dir(const std::string& name);
// Absolute path of a file in the source tree (e.g. "tests/data/fixtures/x.xml").
std::string source_path(const std::string& relative);
// ../shared/data/... beside the project root, or the copy in the tree if shared/ is absent.
std::string vocab_path();
// Writes `data` to `path` (binary), making its parent directories; fails the test on error.
void write_text(const std::string& path, const std::string& data);

}  // namespace kd::test

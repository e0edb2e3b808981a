#include "data/file_globs.h"

#include <glob.h>

#include <algorithm>
#include <set>

#include "common/check.h"

namespace kd::data {

std::vector<std::string> expand_globs(const std::vector<std::string>& patterns) {
  KD_CHECK_HINT(!patterns.empty(), "list HDF5 shard files or globs", "no data file patterns given");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& pattern : patterns) {
    glob_t g{};
    const int rc = glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
    std::vector<std::string> matches;
    if (rc == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    KD_CHECK_HINT(rc == 0 && !matches.empty(),
                  "check the path (relative paths are resolved from the working directory)",
                  "data file pattern '{}' matches no file{}", pattern,
                  rc == GLOB_ABORTED ? " (a directory could not be read)" : "");
    std::sort(matches.begin(), matches.end());
    for (auto& m : matches)
      if (seen.insert(m).second) out.push_back(std::move(m));
  }
  return out;
}

}  // namespace kd::data

// Shell-style glob expansion for shard lists in configs ("data/phase1/*.hdf5").
#pragma once
#include <string>
#include <vector>

namespace kd::data {

// Expands each pattern (sorted matches, patterns kept in order, duplicates dropped); a pattern
// without wildcards must name an existing file. Throws kd::Error naming any pattern that matches
// nothing.
std::vector<std::string> expand_globs(const std::vector<std::string>& patterns);

}  // namespace kd::data

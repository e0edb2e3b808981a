// JSON files that kdprune reads back (checkpoint state, results, configs of model directories):
// every failure names the file.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace kd {

// Parses the JSON file at `path`. A missing/unreadable file or invalid JSON is a kd::Error naming
// the file (and the parser's position), with `hint` as its HINT line when given.
nlohmann::json read_json_file(const std::string& path, const std::string& hint = "");

}  // namespace kd

#include "common/json_file.h"

#include <fstream>

#include "common/check.h"

namespace kd {

nlohmann::json read_json_file(const std::string& path, const std::string& hint) {
  std::ifstream in(path, std::ios::binary);
  KD_CHECK_HINT(in.good(), hint, "{}: cannot read", path);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    KD_CHECK_HINT(false, hint, "{}: invalid JSON ({})", path, e.what());
  }
  return {};
}

}  // namespace kd

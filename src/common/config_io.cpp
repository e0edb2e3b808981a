#include "common/config_io.h"
#include "common/strings.h"

#include <filesystem>

namespace kd::config {

namespace {
// Keys renamed so that one concept has one name in every command: old dotted suffix -> new key.
const char* renamed_key(const std::string& where) {
  static const std::pair<const char*, const char*> renamed[] = {
      {"model.init_from", "model.dir"},
      {"student.init_from", "student.dir"},
      {"generator.init_from", "generator.dir"},
      {"teacher.model", "teacher.dir"},
      {"eval.data", "data.heldout"},
  };
  for (const auto& [old_key, new_key] : renamed) {
    if (ends_with(where, old_key)) return new_key;
  }
  return nullptr;
}
}  // namespace

void Reader::reject_unknown() const {
  for (const auto& kv : node_) {
    // A key that is a sequence or a mapping (`? [a, b]: x`, found by tests/fuzz) names no field
    // either; as<std::string>() would throw yaml-cpp's own conversion error past this message.
    const bool plain = kv.first.IsScalar() || kv.first.IsNull();
    std::string key = plain ? kv.first.as<std::string>() : dump(kv.first);
    if (seen_.count(key)) continue;
    const std::string where = path_.empty() ? key : path_ + "." + key;
    if (const char* now = renamed_key(where))
      KD_FAIL("{}: '{}' was renamed; write '{}' instead (one name per concept in every command)",
              source_, where, now);
    std::string known;
    for (const auto& k : seen_) known += (known.empty() ? "" : ", ") + k;
    KD_FAIL("{}: unknown key '{}'{} (known keys here: {})", source_,
            path_.empty() ? key : path_ + "." + key, path_.empty() ? "" : "", known);
  }
}

void HelpWriter::add_line(const std::string& key, const char* type, const std::string& value,
                          const char* help) {
  out_ += fmt::format("  {:<34} {:<9} {:<20} {}\n", key,
                      std::string(type).substr(0, std::string(type).find(' ')), value, help);
}

std::string Reader::dump(const YAML::Node& n) {
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

YAML::Node load_yaml_with_overrides(const std::string& path, const std::vector<std::string>& sets) {
  YAML::Node root(YAML::NodeType::Map);
  if (!path.empty()) {
    KD_CHECK_HINT(std::filesystem::exists(path), "check the --config path",
                  "config file '{}' does not exist", path);
    try {
      root = YAML::LoadFile(path);
    } catch (const YAML::Exception& e) {
      KD_FAIL("config file '{}': YAML error at line {}, column {}: {}", path, e.mark.line + 1,
              e.mark.column + 1, e.msg);
    }
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    KD_CHECK(root.IsMap(), "config file '{}' must be a mapping of sections", path);
  }
  for (const auto& s : sets) {
    auto eq = s.find('=');
    KD_CHECK_HINT(eq != std::string::npos && eq > 0, "write --set section.key=value",
                  "--set '{}': expected key.path=value", s);
    std::string key = s.substr(0, eq);
    YAML::Node value;
    try {
      value = YAML::Load(s.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      KD_FAIL("--set '{}': value is not valid YAML: {}", s, e.msg);
    }
    // Walk/create the mapping path; yaml-cpp nodes are handles, so assignment writes through.
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t dot; (dot = key.find('.', start)) != std::string::npos; start = dot + 1)
      parts.push_back(key.substr(start, dot - start));
    parts.push_back(key.substr(start));
    std::vector<YAML::Node> chain{root};
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      YAML::Node next = chain.back()[parts[i]];
      if (!next || !next.IsMap()) {
        KD_CHECK(!next || next.IsNull(), "--set '{}': '{}' is not a section", s, parts[i]);
        chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
        next = chain.back()[parts[i]];
      }
      chain.push_back(next);
    }
    chain.back()[parts.back()] = value;
  }
  return root;
}

}  // namespace kd::config

// Typed configuration: each config struct lists its fields once in `visit(v)`; the same list
// reads YAML (unknown keys are errors naming the key path), applies `--set a.b=value` overrides,
// and writes the effective config back as YAML. Precedence: defaults < YAML file < --set.
//
//   struct TrainConfig {
//     int64_t steps = 1000;
//     template <class V> void visit(V& v) { v("steps", steps, "optimizer steps"); }
//   };
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "common/check.h"

namespace kd::config {

template <class T, class = void>
struct is_section : std::false_type {};
template <class T>
struct is_section<T, std::void_t<decltype(&T::template visit<int>)>> : std::true_type {};

// Reads a YAML mapping into a struct, rejecting keys the struct does not declare.
class Reader {
 public:
  Reader(const YAML::Node& node, std::string path, std::string source)
      : node_(node), path_(std::move(path)), source_(std::move(source)) {}

  template <class T>
  void operator()(const char* key, T& field, const char* /*help*/ = "") {
    seen_.insert(key);
    YAML::Node child = node_[key];
    if (!child) return;  // keep the default
    std::string where = path_.empty() ? key : path_ + "." + key;
    if constexpr (is_section<T>::value) {
      KD_CHECK_HINT(child.IsMap(), "write it as a mapping of keys", "{}: '{}' must be a section",
                    source_, where);
      read_section(child, field, where, source_);
    } else if (std::is_same_v<T, std::string> && child.IsNull()) {
      field = T{};  // `key:` / `--set key=` is the empty string, not "null"
    } else {
      try {
        field = child.as<T>();
      } catch (const YAML::Exception&) {
        KD_FAIL("{}: '{}' has value '{}' that is not a valid {}", source_, where, dump(child),
                type_name<T>());
      }
    }
  }

  template <class T>
  static void read_section(const YAML::Node& node, T& section, const std::string& path,
                           const std::string& source) {
    Reader r(node, path, source);
    section.visit(r);
    r.reject_unknown();
  }

 private:
  void reject_unknown() const;
  static std::string dump(const YAML::Node& n);
  template <class T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, bool>)
      return "boolean (true/false)";
    else if constexpr (std::is_integral_v<T>)
      return "integer";
    else if constexpr (std::is_floating_point_v<T>)
      return "number";
    else if constexpr (std::is_same_v<T, std::string>)
      return "string";
    else
      return "list";
  }
  const YAML::Node& node_;
  std::string path_;
  std::string source_;
  std::set<std::string> seen_;
};

// Writes a struct as a YAML mapping (the effective config saved in the run directory).
class Writer {
 public:
  explicit Writer(YAML::Node& node) : node_(node) {}
  template <class T>
  void operator()(const char* key, T& field, const char* /*help*/ = "") {
    if constexpr (is_section<T>::value) {
      YAML::Node child(YAML::NodeType::Map);
      Writer w(child);
      field.visit(w);
      node_[key] = child;
    } else {
      node_[key] = field;
    }
  }

 private:
  YAML::Node& node_;
};

// Loads `path` (may be empty), applies each "a.b.c=value" override (value parsed as YAML), and
// fills `config`. Errors name the file and key.
YAML::Node load_yaml_with_overrides(const std::string& path, const std::vector<std::string>& sets);

template <class T>
T load(const std::string& path, const std::vector<std::string>& sets) {
  T config;
  YAML::Node root = load_yaml_with_overrides(path, sets);
  std::string source = path.empty() ? std::string("--set") : path;
  if (!path.empty() && !sets.empty()) source += " (with --set overrides)";
  Reader::read_section(root, config, "", source);
  return config;
}

template <class T>
std::string to_yaml(T& config) {
  YAML::Node root(YAML::NodeType::Map);
  Writer w(root);
  config.visit(w);
  YAML::Emitter out;
  out << root;
  return out.c_str();
}

}  // namespace kd::config

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

template <class T, class = void>
struct has_validate : std::false_type {};
template <class T>
struct has_validate<T, std::void_t<decltype(std::declval<const T&>().validate())>>
    : std::true_type {};

template <class T>
const char* type_name() {
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

// Lists every key of a config struct (--help-config): dotted path, type, default, help text.
class HelpWriter {
 public:
  HelpWriter(std::string prefix, std::string& out) : prefix_(std::move(prefix)), out_(out) {}
  template <class T>
  void operator()(const char* key, T& field, const char* help = "") {
    const std::string where = prefix_.empty() ? key : prefix_ + "." + key;
    if constexpr (is_section<T>::value) {
      HelpWriter w(where, out_);
      field.visit(w);
    } else {
      YAML::Node n;
      n = field;
      YAML::Emitter e;
      e << YAML::Flow << n;
      add_line(where, type_name<T>(), e.c_str(), help);
    }
  }

 private:
  void add_line(const std::string& key, const char* type, const std::string& value,
                const char* help);
  std::string prefix_;
  std::string& out_;
};

template <class T>
std::string help_text(T& defaults, const std::string& command) {
  std::string out = command + ": every config key (YAML file or --set key=value), type, default\n";
  HelpWriter w("", out);
  defaults.visit(w);
  return out;
}

// Loads `path` (may be empty), applies each "a.b.c=value" override (value parsed as YAML), and
// fills `config`. Errors name the file and key.
YAML::Node load_yaml_with_overrides(const std::string& path, const std::vector<std::string>& sets);

// `command` (e.g. "kdprune relmask") names who rejects an unknown key; the struct's validate(),
// which checks values, ranges and the files the run will read, runs on the result.
template <class T>
T load(const std::string& path, const std::vector<std::string>& sets,
       const std::string& command = "") {
  T config;
  YAML::Node root = load_yaml_with_overrides(path, sets);
  std::string source = path.empty() ? std::string("--set") : path;
  if (!path.empty() && !sets.empty()) source += " (with --set overrides)";
  if (!command.empty()) source = command + ": " + source;
  Reader::read_section(root, config, "", source);
  if constexpr (has_validate<T>::value) config.validate();
  return config;
}

template <class T>
std::string to_yaml(const T& config) {
  YAML::Node root(YAML::NodeType::Map);
  Writer w(root);
  T copy = config;  // visit() is one non-const list of fields for reading and writing
  copy.visit(w);
  YAML::Emitter out;
  out << root;
  return out.c_str();
}

}  // namespace kd::config

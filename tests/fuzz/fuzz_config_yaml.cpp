// Fuzzes the typed config loader (common/config_io.h): YAML file + `--set` overrides read into a
// real kdprune config struct. The input is split on NUL bytes: the first part is the YAML file,
// each further part one `--set key.path=value` string. A kd::Error is a correct rejection; a
// yaml-cpp exception or anything else escaping the loader is a finding. An accepted config must
// survive the round trip through to_yaml (the effective config every run directory keeps).
#include <cstdint>
#include <string>
#include <vector>

#include "common/config_io.h"
#include "fuzz_util.h"
#include "train/train_config.h"

namespace {

// train_config.h is LibTorch-free, so JobConfig (nested sections, strings, integers, doubles,
// bools) is the real thing. It has no lists, which the data sections of the commands add (their
// headers pull in the communicator); this section stands in for them with the same visit().
struct ListsSection {
  std::vector<std::string> train;
  std::vector<int64_t> layers;
  std::vector<double> weights;
  bool shuffle = true;
  template <class V>
  void visit(V& v) {
    v("train", train, "shard globs");
    v("layers", layers, "layer indices");
    v("weights", weights, "loss weights");
    v("shuffle", shuffle, "shuffle shards");
  }
};

struct FuzzConfig : kd::train::JobConfig {
  ListsSection data;
  template <class V>
  void visit(V& v) {
    kd::train::JobConfig::visit(v);
    v("data", data);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = kd::fuzz::as_view(data, size);
  const size_t nul = in.find('\0');
  std::vector<std::string> sets;
  for (size_t pos = nul; pos != std::string_view::npos;) {
    const size_t next = in.find('\0', pos + 1);
    sets.emplace_back(in.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1));
    pos = next;
  }
  const std::string path = kd::fuzz::temp_path("config.yaml");
  kd::fuzz::write_file(path, in.substr(0, nul));

  std::string yaml;
  try {
    yaml = kd::config::to_yaml(kd::config::load<FuzzConfig>(path, sets, "kdprune fuzz"));
  } catch (const kd::Error&) {
    return 0;  // rejected with a message naming the file and key: correct
  }
  // What the run directory keeps must load again to the same config.
  kd::fuzz::write_file(path, yaml);
  FuzzConfig again;
  try {
    again = kd::config::load<FuzzConfig>(path, {}, "kdprune fuzz (round trip)");
  } catch (const kd::Error& e) {
    std::fprintf(stderr, "effective config does not load again: %s\n--- yaml:\n%s\n", e.what(),
                 yaml.c_str());
    std::abort();
  }
  KD_FUZZ_ASSERT(kd::config::to_yaml(again) == yaml, "round trip changed the config");
  return 0;
}

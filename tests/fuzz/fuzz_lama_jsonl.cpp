// Fuzzes the LAMA / probe JSONL readers (text/lama_reader.h). The first byte chooses the source
// (auto, ConceptNet, T-REx, Google-RE) and whether the real relation templates
// (data/lama/LAMA_relations.jsonl) are used; the rest is the JSONL file. The same file is also
// read as a relation-template file. Malformed lines must be counted, never thrown (only
// read_lama_relation_templates may throw kd::Error: no template); every record must keep the
// documented promise of exactly one [MASK] per cloze sentence and serialise to JSON.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "text/lama_reader.h"

namespace {

using namespace kd::text;

const std::map<std::string, std::string>& real_templates() {
  static const auto t =
      read_lama_relation_templates(KD_SOURCE_DIR "/data/lama/LAMA_relations.jsonl");
  return t;
}

size_t count_masks(const std::string& s) {
  size_t n = 0;
  for (size_t p = s.find("[MASK]"); p != std::string::npos; p = s.find("[MASK]", p + 6)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string path = kd::fuzz::temp_path("probes.jsonl");
  kd::fuzz::write_file(path, kd::fuzz::as_view(data + 1, size - 1));

  static const LamaSource kSources[] = {LamaSource::kAuto, LamaSource::kConceptNet,
                                        LamaSource::kTRex, LamaSource::kGoogleRE};
  std::vector<ProbeRecord> records;
  const LamaReport r =
      read_lama_jsonl(path, kSources[mode & 3], (mode & 4) ? &real_templates() : nullptr, records);
  KD_FUZZ_ASSERT(r.error.empty(), "a readable file reported as unreadable");
  KD_FUZZ_ASSERT(r.records == records.size(), "record count differs from records returned");
  KD_FUZZ_ASSERT(r.records + r.bad_lines + r.no_cloze <= r.lines, "more outcomes than lines");
  for (const ProbeRecord& p : records) {
    KD_FUZZ_ASSERT(!p.masked_sentences.empty(), "record without a cloze sentence");
    for (const auto& s : p.masked_sentences)
      KD_FUZZ_ASSERT(count_masks(s) == 1, "cloze sentence without exactly one [MASK]");
    // `kdprune-prep probes` writes this line; it must parse back as JSON.
    KD_FUZZ_ASSERT(!nlohmann::json::parse(p.to_json_line(), nullptr, false).is_discarded(),
                   "to_json_line is not JSON");
  }

  try {
    const auto templates = read_lama_relation_templates(path);
    KD_FUZZ_ASSERT(!templates.empty(), "template file accepted without a template");
  } catch (const kd::Error&) {
    // no usable template: the documented rejection
  }
  return 0;
}

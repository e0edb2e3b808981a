// Readers for LAMA probe sets in JSONL (Petroni et al. 2019) that yield the records
// `kdprune-prep probes` writes: subject, single-word object, relation, template and cloze
// sentences with exactly one [MASK].
//   ConceptNet  {"sub"|"sub_label", "obj_label", "pred", "masked_sentences", "uuid"}
//   T-REx       {"sub_label", "obj_label", "predicate_id", "uuid", "evidences"}; the cloze
//               sentence comes from the relation's template ([X] was born in [Y] .) when a
//               relation file (LAMA_relations.jsonl: {"relation","template"}) is given, else
//               from the evidences' "masked_sentence"
//   Google-RE   {"pred": "/people/person/place_of_birth", "sub_label", "obj_label",
//               "masked_sentences", "uuid"}; the relation is the last part of "pred"
//   kdprune     what `kdprune-prep probes` writes ({"sub_label","obj_label","pred",...})
// Malformed lines and records without a usable cloze sentence are counted, never thrown.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kd::text {

struct ProbeRecord {
  std::string sub_label, obj_label, relation, template_text, uuid;
  std::vector<std::string> masked_sentences;  // each holds exactly one "[MASK]"
  // {"sub_label","obj_label","pred","predicate_id","template","masked_sentences","uuid"}
  std::string to_json_line() const;
};

enum class LamaSource { kAuto, kConceptNet, kTRex, kGoogleRE };

struct LamaReport {
  std::string path;
  uint64_t lines = 0, records = 0;
  uint64_t bad_lines = 0;  // not a JSON object, or no sub/obj label
  uint64_t no_cloze = 0;   // no sentence with exactly one [MASK]
  std::string error;       // unreadable file
};

// relation id -> template, from a LAMA relation file ({"relation": "P19", "template": "..."}).
// Throws kd::Error if the file cannot be read or holds no template.
std::map<std::string, std::string> read_lama_relation_templates(const std::string& path);

// Appends the probe records of one LAMA JSONL file. `templates` may be null.
LamaReport read_lama_jsonl(const std::string& path, LamaSource source,
                           const std::map<std::string, std::string>* templates,
                           std::vector<ProbeRecord>& out);

}  // namespace kd::text

#include "text/lama_reader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/check.h"

namespace kd::text {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

size_t count_masks(const std::string& s) {
  size_t n = 0;
  for (size_t p = s.find("[MASK]"); p != std::string::npos; p = s.find("[MASK]", p + 6)) ++n;
  return n;
}

std::string fill_slots(std::string t, const std::string& x, const std::string& y) {
  auto put = [&](const char* slot, const std::string& v) {
    size_t p = t.find(slot);
    if (p != std::string::npos) t.replace(p, 3, v);
  };
  put("[X]", x);
  put("[Y]", y);
  return t;
}

void add_sentence(ProbeRecord& r, const std::string& s) {
  if (count_masks(s) == 1) r.masked_sentences.push_back(s);
}

}  // namespace

std::string ProbeRecord::to_json_line() const {
  json j = {{"sub_label", sub_label},
            {"obj_label", obj_label},
            {"pred", relation},
            {"predicate_id", relation},
            {"template", template_text},
            {"masked_sentences", masked_sentences},
            {"uuid", uuid}};
  return j.dump();
}

std::map<std::string, std::string> read_lama_relation_templates(const std::string& path) {
  std::ifstream f(path);
  KD_CHECK(f, "cannot read LAMA relation file {}: {}", path, std::strerror(errno));
  std::map<std::string, std::string> out;
  std::string line;
  while (std::getline(f, line)) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    std::string rel = str(j, "relation"), tmpl = str(j, "template");
    if (!rel.empty() && tmpl.find("[X]") != std::string::npos &&
        tmpl.find("[Y]") != std::string::npos)
      out[rel] = tmpl;
  }
  KD_CHECK(!out.empty(), "no relation templates in {}", path);
  return out;
}

LamaReport read_lama_jsonl(const std::string& path, LamaSource source,
                           const std::map<std::string, std::string>* templates,
                           std::vector<ProbeRecord>& out) {
  LamaReport rep;
  rep.path = path;
  std::ifstream f(path);
  if (!f) {
    rep.error = std::string("cannot open: ") + std::strerror(errno);
    return rep;
  }
  std::string line;
  while (std::getline(f, line)) {
    ++rep.lines;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ++rep.bad_lines;
      continue;
    }
    LamaSource src = source;
    std::string pred = str(j, "pred");
    if (src == LamaSource::kAuto)
      src = j.contains("predicate_id")          ? LamaSource::kTRex
            : (!pred.empty() && pred[0] == '/') ? LamaSource::kGoogleRE
                                                : LamaSource::kConceptNet;
    ProbeRecord r;
    r.sub_label = str(j, "sub_label");
    if (r.sub_label.empty()) r.sub_label = str(j, "sub");
    r.obj_label = str(j, "obj_label");
    r.uuid = str(j, "uuid");
    r.relation = src == LamaSource::kTRex ? str(j, "predicate_id") : pred;
    if (src == LamaSource::kGoogleRE) r.relation = r.relation.substr(r.relation.rfind('/') + 1);
    if (r.sub_label.empty() || r.obj_label.empty()) {
      ++rep.bad_lines;
      continue;
    }
    r.template_text = str(j, "template");
    if (templates) {
      auto it = templates->find(r.relation);
      if (it == templates->end() && src == LamaSource::kGoogleRE) it = templates->find(pred);
      if (it != templates->end()) r.template_text = it->second;
    }
    if (!r.template_text.empty() && src != LamaSource::kConceptNet) {
      add_sentence(r, fill_slots(r.template_text, r.sub_label, "[MASK]"));
    } else {
      auto ms = j.find("masked_sentences");
      if (ms != j.end() && ms->is_array())
        for (const auto& s : *ms)
          if (s.is_string()) add_sentence(r, s.get<std::string>());
      auto ev = j.find("evidences");
      if (r.masked_sentences.empty() && ev != j.end() && ev->is_array())
        for (const auto& e : *ev)
          if (e.is_object()) add_sentence(r, str(e, "masked_sentence"));
    }
    if (r.masked_sentences.empty()) {
      ++rep.no_cloze;
      continue;
    }
    ++rep.records;
    out.push_back(std::move(r));
  }
  return rep;
}

}  // namespace kd::text

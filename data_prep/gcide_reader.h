// GCIDE (dict-gcide's /usr/share/dictd/gcide.dict.dz, dictzip = gzip) reduced to definitions:
// header (headword, \pronunciation\, part of speech, [etymology]) dropped, accent codes such as
// ["o] turned into letters, {braces} and syllable marks removed, [source tags], --citations,
// quotations and Syn: lists dropped. Consecutive entries of one headword form one document.
// Each definition keeps its subject-field label ("(Zool.)" before it, or ending the entry's
// header line) aside in `fields`; the definition text is the same with or without it.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace kd::prep {

struct GcideEntry {
  std::string headword;
  std::vector<std::string> definitions;  // cleaned prose, one per sense / phrase
  std::vector<std::string> fields;       // parallel: normalised field label ("Zool."), or ""
};

struct GcideStats {
  size_t entries = 0, definitions = 0, skipped = 0;
};

// Calls on_entry for each headword (entries of the same headword merged). Throws kd::Error if
// the file cannot be opened.
GcideStats read_gcide(const std::string& path,
                      const std::function<void(const GcideEntry&)>& on_entry);

// Markup removal for one paragraph (exposed for tests).
std::string clean_gcide_text(const std::string& s);

// A field label's text as one class: accent codes turned into letters ("Zo[\"o]l." -> "Zool."),
// the first of several ("Anat. & Physiol." -> "Anat."), spelled-out or undotted names folded
// into GCIDE's usual abbreviation ("Zoology", "Zool" -> "Zool."). "" if it does not look like a
// field label (it must start with a capital letter and hold only letters, spaces and dots).
std::string normalize_gcide_field(const std::string& raw);

// A definition without a leading label in parentheses that clean_gcide_text keeps because it has
// no period ("(Law) a writ ..." -> "a writ ..."), also after a phrase ("x: (Law), a writ").
std::string gcide_text_without_field(const std::string& definition);

}  // namespace kd::prep

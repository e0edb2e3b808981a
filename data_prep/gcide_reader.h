// GCIDE (dict-gcide's /usr/share/dictd/gcide.dict.dz, dictzip = gzip) reduced to definitions:
// header (headword, \pronunciation\, part of speech, [etymology]) dropped, accent codes such as
// ["o] turned into letters, {braces} and syllable marks removed, [source tags], --citations,
// quotations and Syn: lists dropped. Consecutive entries of one headword form one document.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace kd::prep {

struct GcideEntry {
  std::string headword;
  std::vector<std::string> definitions;  // cleaned prose, one per sense / phrase
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

}  // namespace kd::prep

// Wikipedia XML dumps (pages-articles*.xml, .xml.bz2 including multistream files) streamed
// through libbz2 and expat: one document per main-namespace (ns 0) article; redirects,
// disambiguation pages and other namespaces are skipped (counted in FileReport::skipped);
// wikitext is reduced to prose by clean_wikitext. A truncated or corrupt bz2 stream or broken
// XML ends the file with FileReport::error naming how many articles were read before it; the
// documents read so far are kept. Never throws on bad input.
#pragma once
#include <string>
#include <vector>

#include "text/sentence_splitter.h"
#include "text/text_document_reader.h"

namespace kd::text {

FileReport read_wikipedia_dump(const std::string& path, const SentenceSplitter& splitter,
                               std::vector<RawDocument>& out);

// True if the file starts with the bz2 magic "BZh".
bool is_bzip2_file(const std::string& path);

}  // namespace kd::text

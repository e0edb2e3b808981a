// WikiExtractor output: text files of <doc id="…" url="…" title="…"> … </doc> blocks, or, with
// WikiExtractor's --json, one {"id","title","text"} object per line. One document per article;
// the title line that WikiExtractor repeats at the top of each article is dropped, every other
// line is a paragraph that goes through the sentence splitter, and HTML entities left by
// --html-safe are decoded. Lines that are not valid JSON in a JSON file are counted in
// FileReport::bad_records, never thrown.
#pragma once
#include <string>
#include <vector>

#include "text/sentence_splitter.h"
#include "text/text_document_reader.h"

namespace kd::text {

FileReport read_wikiextractor_documents(const std::string& path, const SentenceSplitter& splitter,
                                        std::vector<RawDocument>& out);

}  // namespace kd::text

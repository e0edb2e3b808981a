// One entry point for every corpus format kdprune-prep reads, chosen per file.
//   text          documents separated by blank lines (gzip read transparently)
//   wikipedia     pages-articles XML dumps, plain or .bz2 (wikipedia_reader.h)
//   wikiextractor <doc …> files or --json lines (wikiextractor_reader.h)
//   bookcorpus    a tree of .txt books, one document per file (other files skipped)
//   auto          by content: "BZh" or "<mediawiki" -> wikipedia, "<doc " or a JSON object ->
//                 wikiextractor, anything else -> text
#pragma once
#include <string>
#include <vector>

#include "text/sentence_splitter.h"
#include "text/text_document_reader.h"

namespace kd::text {

enum class CorpusFormat { kAuto, kText, kWikipedia, kWikiExtractor, kBookCorpus };

// "auto", "text", "wikipedia", "wikiextractor", "bookcorpus"; throws kd::Error otherwise.
CorpusFormat parse_corpus_format(const std::string& name);
const char* corpus_format_name(CorpusFormat f);

// The format of one file under kAuto (never kAuto or kBookCorpus).
CorpusFormat detect_corpus_format(const std::string& path);

// Appends the documents of one file. With kBookCorpus, files not ending in .txt (or .txt.gz)
// are skipped: the report has no documents and no problem (FileReport::ignored).
FileReport read_corpus_file(const std::string& path, CorpusFormat format,
                            const SentenceSplitter& splitter, std::vector<RawDocument>& out);

}  // namespace kd::text

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/check.h"
#include "support/test_support.h"
#include "text/corpus_reader.h"
#include "text/wikiextractor_reader.h"

namespace kd::text {
namespace {

using Lines = std::vector<std::string>;

TEST(WikiExtractorReader, DocFormat) {
  std::string path = test::source_path("tests/text/fixtures/wikiextractor_docs.txt");
  SentenceSplitter sp;
  std::vector<RawDocument> docs;
  auto r = read_wikiextractor_documents(path, sp, docs);
  EXPECT_EQ(r.problems(), "");
  ASSERT_EQ(docs.size(), 2u);  // "Empty" has nothing but its title
  EXPECT_EQ(docs[0].sentences, (Lines{"Anarchism is a political philosophy.",
                                      "It is sceptical of authority & hierarchy.",
                                      "It calls for the abolition of the state."}));
  EXPECT_EQ(docs[1].sentences, (Lines{"Autism is a neurodevelopmental condition."}));
  EXPECT_EQ(detect_corpus_format(path), CorpusFormat::kWikiExtractor);
}

TEST(WikiExtractorReader, JsonLines) {
  std::string path = test::source_path("tests/text/fixtures/wikiextractor.json");
  SentenceSplitter sp;
  std::vector<RawDocument> docs;
  auto r = read_wikiextractor_documents(path, sp, docs);
  EXPECT_EQ(r.bad_records, 1u);
  EXPECT_EQ(r.problems(), "1 malformed records");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].sentences,
            (Lines{"Anarchism is a political philosophy.", "It is sceptical of authority."}));
  // No title line repeated: the first line is kept.
  EXPECT_EQ(docs[1].sentences,
            (Lines{"Autism is a neurodevelopmental condition.", "It affects communication."}));
  EXPECT_EQ(detect_corpus_format(path), CorpusFormat::kWikiExtractor);
}

TEST(WikiExtractorReader, UnclosedDocCounted) {
  std::string dir = test::temp_dir("wikiextractor");
  test::write_text(dir + "/wiki_00",
                   "<doc id=\"1\" title=\"A\">\nA\nFirst text.\n<doc id=\"2\" title=\"B\">"
                   "\nB\nSecond text.\n");
  SentenceSplitter sp;
  std::vector<RawDocument> docs;
  auto r = read_corpus_file(dir + "/wiki_00", CorpusFormat::kAuto, sp, docs);
  EXPECT_EQ(r.bad_records, 2u);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1].sentences, (Lines{"Second text."}));
}

TEST(BookCorpus, OneDocumentPerBookInATree) {
  std::string dir = test::temp_dir("bookcorpus");
  test::write_text(dir + "/Fantasy/book_b.txt",
                   "Chapter 1\n\nThe hero woke. She ran.\n\n\nChapter 2\n\nThe end came.\n");
  test::write_text(dir + "/Adventure/book_a.txt", "Once upon a time.\n\nThey lived.\n");
  test::write_text(dir + "/Adventure/README.md", "not a book\n");
  test::write_text(dir + "/Fantasy/empty.txt", "");
  std::vector<FileReport> missing;
  auto files = expand_inputs({dir}, missing);
  ASSERT_EQ(files.size(), 4u);
  SentenceSplitter sp;
  std::vector<RawDocument> docs;
  std::vector<FileReport> reports;
  for (const auto& f : files)
    reports.push_back(read_corpus_file(f, CorpusFormat::kBookCorpus, sp, docs));
  ASSERT_EQ(docs.size(), 2u);  // sorted: Adventure/book_a.txt, then Fantasy/book_b.txt
  EXPECT_EQ(docs[0].sentences, (Lines{"Once upon a time.", "They lived."}));
  EXPECT_EQ(docs[1].sentences,
            (Lines{"Chapter 1", "The hero woke.", "She ran.", "Chapter 2", "The end came."}));
  int ignored = 0, with_problems = 0;
  for (const auto& r : reports) {
    ignored += r.ignored;
    with_problems += !r.problems().empty();
  }
  EXPECT_EQ(ignored, 1);        // README.md
  EXPECT_EQ(with_problems, 1);  // empty.txt
  // The same files read as plain text give one document per blank-line block.
  docs.clear();
  read_corpus_file(files[1], CorpusFormat::kAuto, sp, docs);  // Adventure/book_a.txt
  EXPECT_EQ(docs.size(), 2u);
}

TEST(CorpusReader, FormatNames) {
  for (auto f : {CorpusFormat::kAuto, CorpusFormat::kText, CorpusFormat::kWikipedia,
                 CorpusFormat::kWikiExtractor, CorpusFormat::kBookCorpus})
    EXPECT_EQ(parse_corpus_format(corpus_format_name(f)), f);
  EXPECT_THROW(parse_corpus_format("xml"), kd::Error);
  EXPECT_EQ(detect_corpus_format(test::source_path("tests/text/fixtures/wiki_dump.xml")),
            CorpusFormat::kWikipedia);
  EXPECT_EQ(detect_corpus_format(test::source_path("tests/e2e/fixtures/corpus.txt")),
            CorpusFormat::kText);
}

}  // namespace
}  // namespace kd::text

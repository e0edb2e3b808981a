#include <bzlib.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/test_support.h"
#include "text/corpus_reader.h"
#include "text/wikipedia_reader.h"

namespace kd::text {
namespace {

using Lines = std::vector<std::string>;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string bz2(const std::string& data, int block_size_100k = 9) {
  unsigned int n = static_cast<unsigned int>(data.size() + data.size() / 100 + 600);
  std::string out(n, '\0');
  int rc = BZ2_bzBuffToBuffCompress(out.data(), &n, const_cast<char*>(data.data()),
                                    static_cast<unsigned int>(data.size()), block_size_100k, 0, 0);
  EXPECT_EQ(rc, BZ_OK);
  out.resize(n);
  return out;
}

std::string fixture() {
  return test::source_path("tests/text/fixtures/wiki_dump.xml");
}

const Lines kDog = {
    "The dog (Canis familiaris) is a domesticated descendant of the wolf.",
    "Dogs were the first species to be domesticated.",
    "The word dog comes from Old English \"docga\" & is of unknown origin today.",
    "The Beagle is a scent hound.",
    "Dogs weigh 3\u201390 kg on average.",
    "See the dog portal for more.",
};
const Lines kCat = {"The cat is a small carnivorous mammal.", "It is kept as a pet.",
                    "Cats purr when content."};

void expect_fixture_documents(const FileReport& r, const std::vector<RawDocument>& docs) {
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.problems(), "");
  ASSERT_EQ(docs.size(), 2u);  // Dog and Cat; the redirect, disambiguation and ns 14 skipped
  EXPECT_EQ(r.documents, 2u);
  EXPECT_EQ(r.skipped, 3u);
  EXPECT_EQ(docs[0].sentences, kDog);
  EXPECT_EQ(docs[1].sentences, kCat);
  EXPECT_EQ(r.sentences, kDog.size() + kCat.size());
}

TEST(WikipediaReader, PlainXmlDump) {
  SentenceSplitter sp;
  std::vector<RawDocument> docs;
  auto r = read_wikipedia_dump(fixture(), sp, docs);
  expect_fixture_documents(r, docs);
  EXPECT_EQ(r.bytes, slurp(fixture()).size());
}

TEST(WikipediaReader, Bzip2AndMultistream) {
  std::string dir = test::temp_dir("wiki_bz2");
  std::string xml = slurp(fixture());
  test::write_text(dir + "/enwiki-pages-articles.xml.bz2", bz2(xml));
  // Multistream dumps are bz2 streams back to back.
  size_t half = xml.find("<page>", xml.size() / 2);
  test::write_text(dir + "/multi.xml.bz2", bz2(xml.substr(0, half)) + bz2(xml.substr(half)));
  for (const char* name : {"/enwiki-pages-articles.xml.bz2", "/multi.xml.bz2"}) {
    SentenceSplitter sp;
    std::vector<RawDocument> docs;
    auto r = read_wikipedia_dump(dir + name, sp, docs);
    SCOPED_TRACE(name);
    expect_fixture_documents(r, docs);
    // auto detection goes by content, not by name
    std::vector<RawDocument> docs2;
    EXPECT_EQ(detect_corpus_format(dir + name), CorpusFormat::kWikipedia);
    read_corpus_file(dir + name, CorpusFormat::kAuto, sp, docs2);
    EXPECT_EQ(docs2.size(), 2u);
  }
}

// A dump of n generated articles ("Article k. It is number k.").
std::string generated_dump(int n) {
  std::string xml = "<mediawiki xmlns=\"http://www.mediawiki.org/xml/export-0.10/\">\n";
  for (int k = 0; k < n; ++k)
    xml += "<page><title>A" + std::to_string(k) + "</title><ns>0</ns><id>" + std::to_string(k) +
           "</id><revision><text xml:space=\"preserve\">'''Article " + std::to_string(k) +
           "''' is [[thing|some thing]].{{cite|x}} It is number " + std::to_string(k) +
           ". Filler text that makes the block fill up quickly enough.</text></revision></page>\n";
  return xml + "</mediawiki>\n";
}

TEST(WikipediaReader, TruncatedBzip2IsReportedWithArticleCount) {
  std::string dir = test::temp_dir("wiki_trunc");
  const int n = 3000;
  std::string full = bz2(generated_dump(n), 1);  // 100k blocks: several blocks
  std::string path = dir + "/cut.xml.bz2";
  test::write_text(path, full.substr(0, full.size() * 6 / 10));
  SentenceSplitter sp;
  std::vector<RawDocument> docs;
  auto r = read_wikipedia_dump(path, sp, docs);
  EXPECT_NE(r.error.find("truncated bz2"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("after " + std::to_string(r.documents) + " articles"), std::string::npos)
      << r.error;
  EXPECT_GT(r.documents, 0u);
  EXPECT_LT(r.documents, static_cast<uint64_t>(n));
  EXPECT_EQ(docs.size(), r.documents);
  EXPECT_EQ(docs[0].sentences, (Lines{"Article 0 is some thing.", "It is number 0.",
                                      "Filler text that makes the block fill up quickly enough."}));
  EXPECT_FALSE(r.problems().empty());

  // The untruncated file reads completely.
  test::write_text(path, full);
  docs.clear();
  r = read_wikipedia_dump(path, sp, docs);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.documents, static_cast<uint64_t>(n));
}

TEST(WikipediaReader, BadInputNeverThrows) {
  std::string dir = test::temp_dir("wiki_bad");
  SentenceSplitter sp;
  std::vector<RawDocument> docs;
  test::write_text(dir + "/empty.xml", "");
  auto r = read_wikipedia_dump(dir + "/empty.xml", sp, docs);
  EXPECT_EQ(r.problems(), "empty file");

  std::string xml = slurp(fixture());
  test::write_text(dir + "/broken.xml", xml.substr(0, xml.find("<title>Cat")) + "<<<");
  r = read_wikipedia_dump(dir + "/broken.xml", sp, docs);
  EXPECT_NE(r.error.find("XML error"), std::string::npos) << r.error;
  EXPECT_EQ(r.documents, 1u);  // Dog was read before the damage

  std::string garbage = "BZh9" + std::string(200, 'x');
  test::write_text(dir + "/garbage.xml.bz2", garbage);
  r = read_wikipedia_dump(dir + "/garbage.xml.bz2", sp, docs);
  EXPECT_NE(r.error.find("bz2"), std::string::npos) << r.error;

  r = read_wikipedia_dump(dir + "/missing.xml", sp, docs);
  EXPECT_FALSE(r.error.empty());
  r = read_wikipedia_dump(dir, sp, docs);
  EXPECT_EQ(r.error, "not a regular file");
}

}  // namespace
}  // namespace kd::text

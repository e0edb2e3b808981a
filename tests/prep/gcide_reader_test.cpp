#include "gcide_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace kd::prep {
namespace {

// GCIDE's layout (gzopen reads an uncompressed file as it is): labels before a sense, ending a
// header line (after an etymology or a pronunciation), undotted ones, after a {phrase}.
const char* kGcide = R"(Aardvark \Aard"vark`\, n. [D., earth-pig.]
   (Zool.)
   An edentate mammal of South Africa that feeds on ants.
   [1913 Webster]

Abalone \Ab`a*lo"ne\ ([a^]b`[.a]*l[=o]"n[-e]), n. (Zo["o]l.)
   A univalve mollusk of the genus {Haliotis}, lined with pearl.
   [1913 Webster]

Abdomen \Ab*do"men\, n. [L.]
   1. (Anat. & Physiol.) The belly, or that part of the body
      between the thorax and the pelvis.
      [1913 Webster]

   2. The posterior section of the body of an insect.
      [1913 Webster]

   {Abdominal ring} (Anat.), a fancied ringlike opening on each
      side of the abdomen.
      [1913 Webster]

Abactor \Ab*ac"tor\, n. [L.] (Law)
   One who steals and drives away cattle by herds.
   [1913 Webster]

Abate \A*bate"\, v. t.
   1. (Law) To put an end to a nuisance; to do away with.
      [1913 Webster]

   {To abate a writ} (Law), to defeat it for some fault.
      [1913 Webster]
)";

std::map<std::string, GcideEntry> read_fixture() {
  const auto path = std::filesystem::temp_directory_path() /
                    ("kd_gcide_test_" + std::to_string(::getpid()) + ".dict");
  std::ofstream(path) << kGcide;
  std::map<std::string, GcideEntry> out;
  read_gcide(path.string(), [&](const GcideEntry& e) { out[e.headword] = e; });
  std::filesystem::remove(path);
  return out;
}

TEST(GcideReader, KeepsEachDefinitionsFieldLabelBesideItsUnchangedText) {
  auto e = read_fixture();
  ASSERT_EQ(e.size(), 5u);
  for (const auto& [head, entry] : e) EXPECT_EQ(entry.fields.size(), entry.definitions.size());

  EXPECT_EQ(e["Aardvark"].definitions,
            std::vector<std::string>{"An edentate mammal of South Africa that feeds on ants."});
  EXPECT_EQ(e["Aardvark"].fields, std::vector<std::string>{"Zool."});
  // A label ending the header line, with an accent code.
  EXPECT_EQ(
      e["Abalone"].definitions,
      std::vector<std::string>{"A univalve mollusk of the genus Haliotis, lined with pearl."});
  EXPECT_EQ(e["Abalone"].fields, std::vector<std::string>{"Zool."});
  // The first of several fields; an unlabelled sense; a phrase's label.
  EXPECT_EQ(e["Abdomen"].definitions,
            (std::vector<std::string>{
                "The belly, or that part of the body between the thorax and the pelvis.",
                "The posterior section of the body of an insect.",
                "Abdominal ring: a fancied ringlike opening on each side of the abdomen."}));
  EXPECT_EQ(e["Abdomen"].fields, (std::vector<std::string>{"Anat.", "", "Anat."}));
  EXPECT_EQ(e["Abactor"].fields, std::vector<std::string>{"Law"});
  // Undotted labels stay in the text (as the corpus has always had them) but are captured.
  EXPECT_EQ(e["Abate"].definitions,
            (std::vector<std::string>{"(Law) To put an end to a nuisance; to do away with.",
                                      "To abate a writ: (Law), to defeat it for some fault."}));
  EXPECT_EQ(e["Abate"].fields, (std::vector<std::string>{"Law", "Law"}));
  EXPECT_EQ(gcide_text_without_field(e["Abate"].definitions[0]),
            "To put an end to a nuisance; to do away with.");
  EXPECT_EQ(gcide_text_without_field(e["Abate"].definitions[1]),
            "To abate a writ: to defeat it for some fault.");
  EXPECT_EQ(gcide_text_without_field(e["Abdomen"].definitions[2]), e["Abdomen"].definitions[2]);
}

TEST(GcideReader, NormalisesFieldLabels) {
  EXPECT_EQ(normalize_gcide_field("Zool."), "Zool.");
  EXPECT_EQ(normalize_gcide_field("Zo[\"o]l."), "Zool.");
  EXPECT_EQ(normalize_gcide_field("Zo\xC3\xB6l."), "Zool.");
  EXPECT_EQ(normalize_gcide_field("Zoology"), "Zool.");
  EXPECT_EQ(normalize_gcide_field("Zool"), "Zool.");
  EXPECT_EQ(normalize_gcide_field("Anat. & Physiol."), "Anat.");
  EXPECT_EQ(normalize_gcide_field("Bot., Zool."), "Bot.");
  EXPECT_EQ(normalize_gcide_field("Physiol. Chem."), "Physiol. Chem.");
  EXPECT_EQ(normalize_gcide_field("Law"), "Law");
  EXPECT_EQ(normalize_gcide_field("a"), "");           // a list item "(a)"
  EXPECT_EQ(normalize_gcide_field("[a^]b`[.a]"), "");  // a pronunciation
  EXPECT_EQ(normalize_gcide_field("L. 1913"), "");     // digits
  EXPECT_EQ(gcide_text_without_field("(a) first of two"), "(a) first of two");
}

TEST(GcideReader, CleanTextStillDropsDottedLabels) {
  EXPECT_EQ(clean_gcide_text("(Zool.) (Bot.) A {thing}."), "A thing.");
  EXPECT_EQ(clean_gcide_text("(Law) A writ."), "(Law) A writ.");
}

}  // namespace
}  // namespace kd::prep

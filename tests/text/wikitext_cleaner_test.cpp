#include <gtest/gtest.h>

#include "text/wikitext_cleaner.h"

namespace kd::text {
namespace {

using Lines = std::vector<std::string>;

TEST(WikitextCleaner, LinksAndQuotes) {
  EXPECT_EQ(clean_wikitext("The '''dog''' is a [[Domestication|domesticated]] [[wolf]]s kin."),
            (Lines{"The dog is a domesticated wolfs kin."}));
  EXPECT_EQ(clean_wikitext("''Italic'' and '''''both''''' [[:Category:Dogs|dog pages]]"),
            (Lines{"Italic and both dog pages"}));
  EXPECT_EQ(clean_wikitext("[[Paris, Texas|]] and [[wikt:hound]] and [[#History]]"),
            (Lines{"Paris and hound and History"}));
  EXPECT_EQ(clean_wikitext("See [http://x.org the site] or [http://y.org]."),
            (Lines{"See the site or."}));
}

TEST(WikitextCleaner, FilesCategoriesInterlanguageRemoved) {
  EXPECT_EQ(clean_wikitext("[[File:A.jpg|thumb|A [[dog|hound]] here]]Text.\n[[Image:b.png]]\n"
                           "[[Category:Dogs]]\n[[de:Hund]]\n[[simple:Dog]]"),
            (Lines{"Text."}));
}

TEST(WikitextCleaner, NestedTemplatesAndTables) {
  EXPECT_EQ(
      clean_wikitext("{{Infobox|a={{nested|{{deep}}}}|b=c\n|d=e}}Born {{birth date|1900|1|1}} "
                     "in Rome.\n{| class=\"wikitable\"\n|-\n| a || {{x}} b\n|}\nAfter."),
      (Lines{"Born in Rome.", "After."}));
  EXPECT_EQ(clean_wikitext("Before {{#if:x|{{{1}}}|y}} after."), (Lines{"Before after."}));
}

TEST(WikitextCleaner, RefsCommentsTags) {
  EXPECT_EQ(clean_wikitext("Fact.<ref name=\"a\">{{cite web|url=u}}</ref> More.<ref name=\"a\" />"
                           "<!-- note --> <REF group=n>x</REF>End <math>x^2</math>."),
            (Lines{"Fact. More. End."}));
  EXPECT_EQ(clean_wikitext("H<sub>2</sub>O is <span style=\"x\">water</span>.<br/>Next"),
            (Lines{"H2O is water. Next"}));
  EXPECT_EQ(clean_wikitext("a < b and 3 > 2"), (Lines{"a < b and 3 > 2"}));
}

TEST(WikitextCleaner, HeadingsListsMagicWords) {
  EXPECT_EQ(clean_wikitext("== History ==\nText one.\n=== Sub ===\n* item one\n# item two\n"
                           ": indented\n; term\n----\n__TOC__\n| stray cell"),
            (Lines{"Text one.", "item one", "item two", "indented", "term"}));
}

TEST(WikitextCleaner, Entities) {
  EXPECT_EQ(decode_html_entities("&amp; &lt;b&gt; &quot;q&quot; a&nbsp;b &#65;&#x42; &unknown; &"),
            "& <b> \"q\" a b AB &unknown; &");
  EXPECT_EQ(decode_html_entities("3&ndash;4 &#8212; &#x1F600;"), "3\u20134 \u2014 \U0001F600");
  EXPECT_EQ(decode_html_entities("&#0; &#xD800; &#99999999;"), "  &#99999999;");
  EXPECT_EQ(clean_wikitext("Tom &amp; Jerry&nbsp;&nbsp;ran ."), (Lines{"Tom & Jerry ran."}));
}

TEST(WikitextCleaner, EmptyBracketsTidied) {
  EXPECT_EQ(clean_wikitext("Rome ({{lang-it|Roma}}) is old , and big ."),
            (Lines{"Rome is old, and big."}));
  EXPECT_TRUE(clean_wikitext("").empty());
  EXPECT_TRUE(clean_wikitext("{{only template}}\n\n").empty());
}

TEST(WikitextCleaner, Disambiguation) {
  EXPECT_TRUE(is_disambiguation("Mercury (disambiguation)", "x"));
  EXPECT_TRUE(is_disambiguation("Mercury", "* a\n{{disambiguation}}"));
  EXPECT_TRUE(is_disambiguation("Mercury", "{{Disambig|geo}}"));
  EXPECT_TRUE(is_disambiguation("John Smith", "{{hndis|Smith, John}}"));
  EXPECT_FALSE(is_disambiguation("Mercury", "{{Infobox planet}} Mercury is a planet."));
}

}  // namespace
}  // namespace kd::text

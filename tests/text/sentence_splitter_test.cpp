#include <gtest/gtest.h>

#include "text/sentence_splitter.h"

namespace kd::text {
namespace {

std::vector<std::string> split(const std::string& s) {
  SentenceSplitter sp;
  std::vector<std::string> out;
  for (auto v : sp.split(s)) out.emplace_back(v);
  return out;
}

TEST(SentenceSplitter, SplitsAtTerminatorsBeforeCapitals) {
  EXPECT_EQ(split("The dog barked. The cat ran! Did it? Yes."),
            (std::vector<std::string>{"The dog barked.", "The cat ran!", "Did it?", "Yes."}));
  EXPECT_EQ(split("He said \"stop.\" Then he left."),
            (std::vector<std::string>{"He said \"stop.\"", "Then he left."}));
}

TEST(SentenceSplitter, KeepsAbbreviationsDecimalsAndInitials) {
  EXPECT_EQ(split("Mr. Smith paid 3.50 dollars, e.g. Coins. Next one."),
            (std::vector<std::string>{"Mr. Smith paid 3.50 dollars, e.g. Coins.", "Next one."}));
  EXPECT_EQ(split("J. R. R. Tolkien wrote it. It sold."),
            (std::vector<std::string>{"J. R. R. Tolkien wrote it.", "It sold."}));
  EXPECT_EQ(split("pi is about 3.14159 and e is 2.718. That is all."),
            (std::vector<std::string>{"pi is about 3.14159 and e is 2.718.", "That is all."}));
}

TEST(SentenceSplitter, LowerCaseContinuationAndWhitespace) {
  // A lower-case word after a period is taken as the same sentence (lists, abbreviations).
  EXPECT_EQ(split("  approx. ten of them. etc. and more  "),
            (std::vector<std::string>{"approx. ten of them. etc. and more"}));
  EXPECT_TRUE(split("   ").empty());
  EXPECT_EQ(split("no terminator"), (std::vector<std::string>{"no terminator"}));
}

}  // namespace
}  // namespace kd::text

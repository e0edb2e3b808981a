// Wikitext (MediaWiki markup) reduced to plain prose for pre-training corpora.
// Removed: comments, <ref>…</ref> and <ref/>, non-prose tags with their content (math, gallery,
// timeline, code, …), templates {{…}} (nested) and parser functions, tables {| … |},
// [[File:]]/[[Image:]]/[[Category:]] and interlanguage links, headings (== x ==), bold/italic
// quotes, list markers, magic words (__TOC__) and bare external links.
// Kept: [[target|label]] → label, [[target]] → target, [http://x label] → label, the text
// inside other HTML tags, entities decoded (&amp; &lt; &gt; &quot; &nbsp; &#NN; &#xHH; …).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "text/html_entities.h"

namespace kd::text {

// The prose paragraphs of an article (one per non-empty line of the cleaned text), trimmed,
// with runs of whitespace collapsed.
std::vector<std::string> clean_wikitext(std::string_view wikitext);

// True for disambiguation pages: a title ending in "(disambiguation)" or a disambiguation
// template ({{disambiguation}}, {{disambig}}, {{dab}}, {{hndis}}, {{geodis}}, …).
bool is_disambiguation(std::string_view title, std::string_view wikitext);

}  // namespace kd::text

// HTML character references (&amp; &lt; &gt; &quot; &nbsp; &#NN; &#xHH; and common named ones)
// decoded to UTF-8, as found in wikitext and WikiExtractor output.
#pragma once
#include <string>
#include <string_view>

namespace kd::text {

// Decodes HTML character references; &nbsp; (and &#160;) become a plain space, invalid code
// points (NUL, surrogates) are dropped and unknown named entities are kept as they are.
std::string decode_html_entities(std::string_view s);

}  // namespace kd::text

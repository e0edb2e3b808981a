// Small ASCII string helpers shared by the readers (one definition instead of one per file).
#pragma once
#include <string>
#include <string_view>

namespace kd {

// Without leading and trailing " \t\r\n\f\v".
std::string_view trim_space(std::string_view s);
// 'A'..'Z' lowered; every other byte (UTF-8 included) unchanged, whatever the C locale.
std::string ascii_lower(std::string_view s);
bool ends_with(std::string_view s, std::string_view suffix);

}  // namespace kd

// JSON string literals from arbitrary bytes, for log lines and admin output.
#pragma once

#include <string>
#include <string_view>

namespace tether::json {

// Appends `s` as a quoted JSON string: quotes, backslashes, control characters
// and DEL escaped, every ill-formed UTF-8 sequence replaced by U+FFFD, so the
// result is valid UTF-8 and parses with a strict JSON reader.
void append_string(std::string& out, std::string_view s);

}  // namespace tether::json

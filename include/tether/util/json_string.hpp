// JSON string literals from arbitrary bytes, for log lines and admin output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tether::json {

// Appends `s` as a quoted JSON string: quotes, backslashes, control characters
// and DEL escaped, every ill-formed UTF-8 sequence replaced by U+FFFD, so the
// result is valid UTF-8 and parses with a strict JSON reader.
void append_string(std::string& out, std::string_view s);

// Appends a JSON number: integers as they are, a double in its shortest form
// that reads back the same (NaN and infinity, which JSON lacks, as 0).
void append_number(std::string& out, std::uint64_t n);
void append_number(std::string& out, std::int64_t n);
void append_number(std::string& out, double d);

}  // namespace tether::json

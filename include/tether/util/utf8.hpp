// UTF-8 well-formedness: client-supplied strings (connection attributes, user
// names) are arbitrary bytes, but JSON output must be valid UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tether::utf8 {

// The sequence at the start of `s` (not empty): its length in bytes and whether
// it is well formed (no overlong forms, no surrogates, nothing past U+10FFFF).
// An ill-formed sequence's length is its maximal subpart, at least 1 byte, so
// replacing each ill-formed sequence with one U+FFFD follows Unicode's
// recommended practice (what Python's errors="replace" does too).
struct Step {
    std::size_t length = 1;
    bool valid = false;
};
Step next(std::string_view s);

inline constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

// Appends `s` to `out` with every ill-formed sequence replaced by U+FFFD.
void append_replacing_invalid(std::string& out, std::string_view s);

}  // namespace tether::utf8

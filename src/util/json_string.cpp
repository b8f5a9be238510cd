// JSON string literals (see json_string.hpp).
#include "tether/util/json_string.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "tether/util/utf8.hpp"

namespace tether::json {

// Client attributes and user names are arbitrary bytes: each ill-formed
// sequence becomes one U+FFFD (see utf8.hpp).
void append_string(std::string& out, std::string_view s) {
    out += '"';
    std::size_t at = 0;
    while (at < s.size()) {
        const char c = s[at];
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) {
            const utf8::Step step = utf8::next(s.substr(at));
            if (step.valid) {
                out.append(s.substr(at, step.length));
            } else {
                out += utf8::replacement;
            }
            at += step.length;
            continue;
        }
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", u);
            out += esc;
        } else {
            out += c;
        }
        ++at;
    }
    out += '"';
}

void append_number(std::string& out, std::uint64_t n) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, r.ptr);
}

void append_number(std::string& out, std::int64_t n) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, r.ptr);
}

void append_number(std::string& out, double d) {
    if (!std::isfinite(d)) d = 0;
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest form that reads back the same
    out.append(buf, r.ptr);
}

}  // namespace tether::json

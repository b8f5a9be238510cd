// A checker for text tether promises is clean (statement fingerprints), written
// apart from tether's own UTF-8 reader so that the tests do not trust what they test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tether::test {

// Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF)
// with no C0 control, DEL or C1 control character.
inline bool clean_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F) return false;
            ++i;
            continue;
        }
        const std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (c < 0xC2 || c > 0xF4 || i + n > s.size()) return false;
        std::uint32_t cp = c & (0x7Fu >> n);
        for (std::size_t k = 1; k < n; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            cp = cp << 6 | (b & 0x3Fu);
        }
        const std::uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp < 0xA0) return false;
        i += n;
    }
    return true;
}

}  // namespace tether::test

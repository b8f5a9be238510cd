// UTF-8 validation and replacement (see utf8.hpp).
#include "tether/util/utf8.hpp"

namespace tether::utf8 {

Step next(std::string_view s) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80) return {1, true};
    // The table of well-formed sequences (Unicode 15, table 3-7): the second
    // byte's range depends on the lead, which rules out overlong forms,
    // surrogates and code points past U+10FFFF.
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
    } else {
        return {1, false};  // a continuation byte, C0, C1 or F5..FF: never a lead
    }
    std::size_t i = 1;
    for (; i < length && i < s.size(); ++i) {
        const unsigned char b = byte(i);
        const unsigned char lo = i == 1 ? low : 0x80;
        const unsigned char hi = i == 1 ? high : 0xBF;
        if (b < lo || b > hi) return {i, false};
    }
    return {i, i == length};
}

void append_replacing_invalid(std::string& out, std::string_view s) {
    std::size_t at = 0;
    while (at < s.size()) {
        // Runs of ASCII are the common case: copy them whole.
        std::size_t ascii = at;
        while (ascii < s.size() && static_cast<unsigned char>(s[ascii]) < 0x80) ++ascii;
        out.append(s.substr(at, ascii - at));
        at = ascii;
        if (at == s.size()) break;
        const Step step = next(s.substr(at));
        if (step.valid) {
            out.append(s.substr(at, step.length));
        } else {
            out.append(replacement);
        }
        at += step.length;
    }
}

}  // namespace tether::utf8

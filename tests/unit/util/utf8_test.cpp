// UTF-8 validation against Unicode's table of well-formed sequences.
#include <doctest/doctest.h>

#include <initializer_list>
#include <string>

#include "tether/util/utf8.hpp"

using tether::utf8::append_replacing_invalid;
using tether::utf8::next;

namespace {

std::string fixed(std::string_view s) {
    std::string out;
    append_replacing_invalid(out, s);
    return out;
}

const std::string fffd = "\xEF\xBF\xBD";

}  // namespace

TEST_CASE("well-formed text passes unchanged") {
    for (const std::string& s : std::initializer_list<std::string>{"", "plain ascii", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x98\x80",
                                "\xED\x9F\xBF", "\xEE\x80\x80", "\xF4\x8F\xBF\xBF", std::string("nul\0in", 6)}) {
        CAPTURE(s);
        CHECK(fixed(s) == s);
    }
}

TEST_CASE("every ill-formed sequence becomes one U+FFFD per maximal subpart") {
    CHECK(fixed("\xFF\xFE") == fffd + fffd);
    CHECK(fixed("a\x80z") == "a" + fffd + "z");             // lone continuation byte
    CHECK(fixed("caf\xC3") == "caf" + fffd);                // truncated at the end
    CHECK(fixed("\xE2\x82") == fffd);                       // truncated 3-byte: one subpart
    CHECK(fixed("\xE2\x82z") == fffd + "z");
    CHECK(fixed("\xC0\xAF") == fffd + fffd);                // overlong '/'
    CHECK(fixed("\xE0\x80\xAF") == fffd + fffd + fffd);     // overlong 3-byte
    CHECK(fixed("\xED\xA0\x80") == fffd + fffd + fffd);     // a surrogate
    CHECK(fixed("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // past U+10FFFF
    CHECK(fixed("\xF5\x80") == fffd + fffd);
    CHECK(fixed("\xF0\x9F\x98") == fffd);
}

TEST_CASE("next reports the length of valid and invalid sequences") {
    CHECK(next("a").valid);
    CHECK(next("\xC3\xA9").length == 2);
    CHECK(next("\xC3\xA9").valid);
    CHECK(next("\xF0\x9F\x98\x80").length == 4);
    CHECK_FALSE(next("\xF0\x9F\x98").valid);
    CHECK(next("\xF0\x9F\x98").length == 3);
    CHECK_FALSE(next("\x80").valid);
    CHECK(next("\x80").length == 1);
}

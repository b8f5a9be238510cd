// AuthSwitchRequest and AuthMoreData: golden bytes and every truncation.
#include <doctest/doctest.h>

#include <tuple>

#include "fixture.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/codec/wire.hpp"

using namespace tether::codec;
using tether::codec::test::copy_prefix;
using tether::codec::test::from_hex;
using tether::codec::test::to_hex;

namespace {

// MySQL 5.6 docs: switch to mysql_native_password with a 20-byte scramble and its NUL.
const auto auth_switch = from_hex(
    "fe 6d 79 73 71 6c 5f 6e 61 74 69 76 65 5f 70 61 73 73 77 6f 72 64 00 7a 51 67 34 69 36 6f 4e 79 36 3d 72 48"
    "4e 2f 3e 2d 62 29 41 00");

}  // namespace

TEST_CASE("AuthSwitchRequest to mysql_native_password") {
    auto request = decode_auth_switch(auth_switch);
    REQUIRE(request.ok());
    CHECK(request.consumed == auth_switch.size());
    CHECK(request.value.plugin_name == "mysql_native_password");
    CHECK(request.value.plugin_data.size() == 21);
    CHECK(to_hex(request.value.plugin_data) == "7a51673469366f4e79363d72484e2f3e2d62294100");
}

TEST_CASE("a lone 0xFE asks for the pre-4.1 scramble") {
    const auto old = from_hex("fe");
    auto request = decode_auth_switch(old);
    REQUIRE(request.ok());
    CHECK(request.value.plugin_name == "mysql_old_password");
    CHECK(request.value.plugin_data.empty());
}

TEST_CASE("AuthSwitchRequest refusals") {
    CHECK(decode_auth_switch({}).malformed());
    CHECK(decode_auth_switch(from_hex("01 03")).malformed());
    // Every cut inside the plugin name leaves it unterminated; every later cut is
    // a valid request with less data.
    const std::size_t name_end = 1 + 21 + 1;
    for (std::size_t n = 0; n < auth_switch.size(); ++n) {
        CAPTURE(n);
        const auto prefix = copy_prefix(auth_switch, n);
        auto request = decode_auth_switch(prefix);
        CHECK_FALSE(request.need_more());
        if (n == 1) {
            CHECK(request.ok());
        } else if (n < name_end) {
            CHECK(request.malformed());
        } else {
            REQUIRE(request.ok());
            CHECK(request.value.plugin_data.size() == n - name_end);
        }
    }
}

TEST_CASE("AuthMoreData: caching_sha2_password fast-auth success and full-auth request") {
    for (const auto& [hex, data] : {std::pair{"01 03", "03"}, std::pair{"01 04", "04"}, std::pair{"01", ""}}) {
        const auto payload = from_hex(hex);
        auto more = decode_auth_more_data(payload);
        REQUIRE(more.ok());
        CHECK(to_hex(more.value.data) == data);
    }
    const auto pem = from_hex("01 2d 2d 2d 2d 2d 42 45 47 49 4e");
    auto key = decode_auth_more_data(pem);
    REQUIRE(key.ok());
    CHECK(as_text(key.value.data) == "-----BEGIN");
}

TEST_CASE("AuthMoreData: what caching_sha2_password's one-byte answers mean") {
    for (const auto& row : {std::tuple{"01 03", true, false}, std::tuple{"01 04", false, true},
                                          std::tuple{"01 02", false, false}, std::tuple{"01", false, false},
                                          std::tuple{"01 03 03", false, false}, std::tuple{"01 04 00", false, false}}) {
        const auto [hex, fast, full] = row;
        CAPTURE(std::get<0>(row));
        const auto payload = from_hex(hex);
        auto more = decode_auth_more_data(payload);
        REQUIRE(more.ok());
        CHECK(more.value.is_fast_auth_success() == fast);
        CHECK(more.value.is_full_auth_request() == full);
    }
}

TEST_CASE("AuthMoreData refusals") {
    CHECK(decode_auth_more_data({}).malformed());
    CHECK(decode_auth_more_data(from_hex("fe 03")).malformed());
    CHECK(decode_auth_more_data(from_hex("00 00 00 02 00 00 00")).malformed());
}

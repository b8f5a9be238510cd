// Connection attributes kept as their wire block: reading in place, building, long values, bad blocks.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fixture.hpp"
#include "tether/codec/connection_attributes.hpp"

using namespace tether::codec;

TEST_CASE("attributes built pair by pair read back in order, and their block is the wire's") {
    ConnectionAttributes a{{"_os", "Linux"}, {"program_name", "billing"}};
    a.emplace_back("_pid", "42");
    CHECK(a.size() == 3);
    CHECK_FALSE(a.empty());
    CHECK(a.front() == ConnectionAttributes::Pair{"_os", "Linux"});
    CHECK(a.back() == ConnectionAttributes::Pair{"_pid", "42"});
    CHECK(a.find("program_name") == std::optional<std::string_view>("billing"));
    CHECK_FALSE(a.find("billing").has_value());  // a value is not a key
    std::vector<ConnectionAttributes::Pair> seen(a.begin(), a.end());
    REQUIRE(seen.size() == 3);
    CHECK(seen[1].first == "program_name");
    CHECK(test::to_hex(a.block()) == "035f6f73054c696e75780c70726f6772616d5f6e616d650762696c6c696e67045f706964023432");
}

TEST_CASE("a value of 251 bytes or more has a 3-byte length, and reads back whole") {
    const std::string long_value(300, 'x');
    ConnectionAttributes a{{"k", long_value}, {"after", "y"}};
    CHECK(std::to_integer<int>(a.block()[2]) == 0xFC);  // 1-byte key length, "k", then 0xFC 0x2C 0x01
    CHECK(a.find("k") == std::optional<std::string_view>(long_value));
    CHECK(a.back() == ConnectionAttributes::Pair{"after", "y"});
}

TEST_CASE("a block decodes to the same list it was built from; a pair past its end is refused") {
    const ConnectionAttributes built{{"_client_name", "libmariadb"}, {"_client_version", "3.3.8"}};
    ConnectionAttributes decoded;
    REQUIRE(ConnectionAttributes::decode(built.block(), decoded).empty());
    CHECK(decoded == built);
    CHECK(decoded.size() == 2);

    std::vector<std::byte> cut(built.block().begin(), built.block().end() - 1);  // the last value one byte short
    ConnectionAttributes bad;
    CHECK_FALSE(ConnectionAttributes::decode(cut, bad).empty());
    CHECK(bad.empty());
    const std::vector<std::byte> key_only = test::from_hex("03 5f 6f 73");  // a key with no value
    CHECK_FALSE(ConnectionAttributes::decode(key_only, bad).empty());
}

TEST_CASE("no attributes: an empty block, nothing to read") {
    ConnectionAttributes none;
    CHECK(none.empty());
    CHECK(none.begin() == none.end());
    CHECK_FALSE(none.find("_os").has_value());
    ConnectionAttributes decoded;
    CHECK(ConnectionAttributes::decode({}, decoded).empty());
    CHECK(decoded == none);
}

TEST_CASE("a list moved from is empty (COM_CHANGE_USER moves the login's attributes on)") {
    ConnectionAttributes login_attributes{{"program_name", "billing"}};
    const ConnectionAttributes moved = std::move(login_attributes);
    CHECK(moved.find("program_name") == std::optional<std::string_view>("billing"));
    CHECK(login_attributes.empty());  // NOLINT(bugprone-use-after-move): what is left is the point
    CHECK(login_attributes.size() == 0);
}

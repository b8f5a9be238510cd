// Command names and the COM_QUIT tether sends on a client's behalf.
#include <doctest/doctest.h>

#include "fixture.hpp"
#include "tether/codec/command.hpp"

using namespace tether::codec;

TEST_CASE("command names") {
    CHECK(command_name(0x00) == "COM_SLEEP");
    CHECK(command_name(0x01) == "COM_QUIT");
    CHECK(command_name(0x03) == "COM_QUERY");
    CHECK(command_name(0x07) == "COM_REFRESH");
    CHECK(command_name(0x0E) == "COM_PING");
    CHECK(command_name(0x11) == "COM_CHANGE_USER");
    CHECK(command_name(0x16) == "COM_STMT_PREPARE");
    CHECK(command_name(0x18) == "COM_STMT_SEND_LONG_DATA");
    CHECK(command_name(0x1F) == "COM_RESET_CONNECTION");
    CHECK(command_name(0x20) == "COM_CLONE");
    CHECK(command_name(0xFA) == "COM_STMT_BULK_EXECUTE");
    CHECK(command_name(0xFE) == "COM_MULTI");
    CHECK(command_name(0x21) == "COM_UNKNOWN");
    CHECK(command_name(0xFF) == "COM_UNKNOWN");
}

TEST_CASE("every enumerated command has its own name") {
    for (unsigned c = 0; c <= 0x20; ++c) {
        CAPTURE(c);
        CHECK(command_name(static_cast<std::uint8_t>(c)).starts_with("COM_"));
        CHECK(command_name(static_cast<std::uint8_t>(c)) != "COM_UNKNOWN");
    }
}

TEST_CASE("append_com_quit appends the 5-byte COM_QUIT with sequence id 0") {
    std::vector<std::byte> out = test::from_hex("aa");
    append_com_quit(out);
    CHECK(test::to_hex(out) == "aa0100000001");
}

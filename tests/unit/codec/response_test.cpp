// OK, ERR and EOF packets: golden bytes, lenient tails, every truncation, and the ERR packets tether writes.
#include <doctest/doctest.h>

#include "fixture.hpp"
#include "tether/codec/response.hpp"
#include "tether/codec/wire.hpp"

using namespace tether::codec;
using tether::codec::test::copy_prefix;
using tether::codec::test::from_hex;
using tether::codec::test::to_hex;

namespace {

constexpr Capabilities caps_41 = cap::protocol_41;
constexpr Capabilities caps_track = cap::protocol_41 | cap::session_track;

const auto ok_autocommit = from_hex("00 00 00 02 00 00 00");
// node-mysql2 #989: 0xfe-form last insert id, IN_TRANS|AUTOCOMMIT|SESSION_STATE_CHANGED, tracker type 0x14.
const auto ok_unknown_tracker =
    from_hex("00 01 fe 65 96 fc 02 00 00 00 00 03 40 00 00 00 0a 14 08 fe 60 63 9b 05 00 00 00");
// MariaDB 0xFE-form OK: SESSION_STATE_CHANGED but no state bytes (vitess #11795).
const auto ok_mariadb_no_state = from_hex("fe 00 00 22 40 00 00");
const auto err_1045 = from_hex(
    "ff 15 04 23 32 38 30 30 30 41 63 63 65 73 73 20 64 65 6e 69 65 64 20 66 6f 72 20 75 73 65 72 20 27 72 6f 6f"
    "74 27 40 27 6c 6f 63 61 6c 68 6f 73 74 27 20 28 75 73 69 6e 67 20 70 61 73 73 77 6f 72 64 3a 20 59 45 53 29");
const auto err_1040_no_state =
    from_hex("ff 10 04 54 6f 6f 20 6d 61 6e 79 20 63 6f 6e 6e 65 63 74 69 6f 6e 73");

}  // namespace

TEST_CASE("OK with autocommit") {
    auto ok = decode_ok(ok_autocommit, caps_41);
    REQUIRE(ok.ok());
    CHECK(ok.consumed == ok_autocommit.size());
    CHECK(ok.value.header == ok_header);
    CHECK(ok.value.affected_rows == 0);
    CHECK(ok.value.last_insert_id == 0);
    CHECK(ok.value.status_flags == status::autocommit);
    CHECK(ok.value.warnings == 0);
    CHECK(ok.value.info.empty());
    CHECK(ok.value.session_state.empty());
}

TEST_CASE("OK with session tracking: info and session state are views into the payload") {
    auto ok = decode_ok(ok_unknown_tracker, caps_track);
    REQUIRE(ok.ok());
    CHECK(ok.value.affected_rows == 1);
    CHECK(ok.value.last_insert_id == 50108005);
    CHECK(ok.value.status_flags == 0x4003);
    CHECK((ok.value.status_flags & status::in_trans) != 0);
    CHECK(ok.value.info.empty());
    CHECK(ok.value.session_state.size() == 10);
    CHECK(to_hex(as_bytes(ok.value.session_state)) == "1408fe60639b05000000");
    CHECK(as_bytes(ok.value.session_state).data() == ok_unknown_tracker.data() + 17);
}

TEST_CASE("OK without SESSION_TRACK: everything after the status is info") {
    const auto payload = from_hex("00 03 00 02 00 01 00 52 6f 77 73 3a 20 33");
    auto ok = decode_ok(payload, caps_41);
    REQUIRE(ok.ok());
    CHECK(ok.value.affected_rows == 3);
    CHECK(ok.value.warnings == 1);
    CHECK(ok.value.info == "Rows: 3");
}

TEST_CASE("OK headed 0xFE with SESSION_STATE_CHANGED but no state is accepted") {
    auto ok = decode_ok(ok_mariadb_no_state, cap::protocol_41 | cap::session_track | cap::deprecate_eof);
    REQUIRE(ok.ok());
    CHECK(ok.value.header == eof_header);
    CHECK(ok.value.status_flags == 0x4022);
    CHECK(ok.value.session_state.empty());
    CHECK(ok.value.info.empty());
}

TEST_CASE("an OK tail that does not parse is kept as info") {
    // Info length says 9 bytes, 2 are there.
    const auto payload = from_hex("00 00 00 03 00 00 00 09 41 42");
    auto ok = decode_ok(payload, caps_track);
    REQUIRE(ok.ok());
    CHECK(ok.value.status_flags == 0x0003);
    CHECK(to_hex(as_bytes(ok.value.info)) == "094142");
    CHECK(ok.value.session_state.empty());
}

TEST_CASE("OK before protocol 4.1: status only with CLIENT_TRANSACTIONS, no warnings") {
    const auto payload = from_hex("00 01 02 03 00");
    auto with_transactions = decode_ok(payload, cap::transactions);
    REQUIRE(with_transactions.ok());
    CHECK(with_transactions.value.affected_rows == 1);
    CHECK(with_transactions.value.last_insert_id == 2);
    CHECK(with_transactions.value.status_flags == 3);
    auto without = decode_ok(payload, 0);
    REQUIRE(without.ok());
    CHECK(without.value.status_flags == 0);
    CHECK(to_hex(as_bytes(without.value.info)) == "0300");
}

TEST_CASE("OK refusals and every truncation before the status") {
    CHECK(decode_ok({}, caps_41).malformed());
    CHECK(decode_ok(err_1045, caps_41).malformed());
    CHECK(decode_ok(from_hex("00 ff 00 02 00 00 00"), caps_41).malformed());  // 0xFF is no length
    for (const auto* golden : {&ok_autocommit, &ok_unknown_tracker, &ok_mariadb_no_state}) {
        auto full = decode_ok(*golden, caps_track);
        REQUIRE(full.ok());
        // header, two length-encoded integers, status, warnings
        WireReader r(*golden);
        r.skip(1);
        r.lenenc_int();
        r.lenenc_int();
        const std::size_t status_end = r.position() + 4;
        for (std::size_t n = 0; n < golden->size(); ++n) {
            CAPTURE(n);
            const auto prefix = copy_prefix(*golden, n);
            auto ok = decode_ok(prefix, caps_track);
            CHECK_FALSE(ok.need_more());
            if (n < status_end) {
                CHECK(ok.malformed());
                CHECK_FALSE(ok.error.empty());
            } else {
                REQUIRE(ok.ok());
                CHECK(ok.value.status_flags == full.value.status_flags);
                CHECK(ok.value.affected_rows == full.value.affected_rows);
                CHECK(ok.value.last_insert_id == full.value.last_insert_id);
            }
        }
    }
}

TEST_CASE("ERR 1045 with SQL state") {
    auto err = decode_err(err_1045);
    REQUIRE(err.ok());
    CHECK(err.consumed == err_1045.size());
    CHECK(err.value.code == 1045);
    CHECK(err.value.sql_state == "28000");
    CHECK(err.value.message == "Access denied for user 'root'@'localhost' (using password: YES)");
    CHECK_FALSE(err.value.is_progress_report());
}

TEST_CASE("ERR 1040 sent instead of a greeting has no SQL state") {
    auto err = decode_err(err_1040_no_state);
    REQUIRE(err.ok());
    CHECK(err.value.code == 1040);
    CHECK(err.value.sql_state.empty());
    CHECK(err.value.message == "Too many connections");
}

TEST_CASE("MariaDB progress reports are ERR packets with code 0xFFFF") {
    const auto progress = from_hex("ff ff ff 01 02 10 27 00 00");
    auto err = decode_err(progress);
    REQUIRE(err.ok());
    CHECK(err.value.is_progress_report());
    CHECK(err.value.sql_state.empty());
}

TEST_CASE("ERR refusals and every truncation") {
    CHECK(decode_err({}).malformed());
    CHECK(decode_err(ok_autocommit).malformed());
    for (std::size_t n = 0; n < err_1045.size(); ++n) {
        CAPTURE(n);
        const auto prefix = copy_prefix(err_1045, n);
        auto err = decode_err(prefix);
        CHECK_FALSE(err.need_more());
        // Up to the code, and between the '#' and the fifth state character.
        if (n < 3 || (n > 3 && n < 9)) {
            CHECK(err.malformed());
        } else {
            REQUIRE(err.ok());
            CHECK(err.value.code == 1045);
            CHECK(err.value.sql_state == (n == 3 ? "" : "28000"));
            CHECK(err.value.message.size() == (n == 3 ? 0 : n - 9));
        }
    }
}

TEST_CASE("EOF: 4.1 form, pre-4.1 form, and what is not an EOF") {
    const auto eof = from_hex("fe 01 00 22 00");
    CHECK(is_eof_packet(eof));
    auto e = decode_eof(eof);
    REQUIRE(e.ok());
    CHECK(e.value.warnings == 1);
    CHECK(e.value.status_flags == 0x0022);

    const auto old = from_hex("fe");
    auto o = decode_eof(old);
    REQUIRE(o.ok());
    CHECK(o.value.warnings == 0);
    CHECK(o.value.status_flags == 0);

    for (std::size_t n = 2; n < 5; ++n) CHECK(decode_eof(copy_prefix(eof, n)).malformed());
    CHECK_FALSE(is_eof_packet({}));
    CHECK(decode_eof({}).malformed());
    CHECK(decode_eof(ok_autocommit).malformed());
    // 0xFE with 9 or more bytes is an OK (DEPRECATE_EOF) or a row, not an EOF.
    const auto long_fe = from_hex("fe 00 00 02 00 00 00 00 00");
    CHECK_FALSE(is_eof_packet(long_fe));
    CHECK(decode_eof(long_fe).malformed());
    CHECK(is_eof_packet(ok_mariadb_no_state));
}

TEST_CASE("encode_err: too many connections at sequence 2") {
    const auto packet = encode_err(2, 1040, "08004", "Too many connections");
    CHECK(to_hex(packet) ==
          "1d0000"
          "02"
          "ff"
          "1004"
          "23"
          "3038303034"
          "546f6f206d616e7920636f6e6e656374696f6e73");
    auto framed = decode_packet(packet);
    REQUIRE(framed.ok());
    CHECK(framed.consumed == packet.size());
    auto err = decode_err(framed.value.payload);
    REQUIRE(err.ok());
    CHECK(err.value.code == 1040);
    CHECK(err.value.sql_state == "08004");
    CHECK(err.value.message == "Too many connections");
}

TEST_CASE("encode_err always writes a five-character SQL state") {
    auto state_of = [](std::string_view given) {
        const auto packet = encode_err(0, 1203, given, "x");
        auto err = decode_err(std::span(packet).subspan(header_size));
        REQUIRE(err.ok());
        return std::string(err.value.sql_state);
    };
    CHECK(state_of("") == "HY000");
    CHECK(state_of("42000") == "42000");
    CHECK(state_of("420") == "42000");
    CHECK(state_of("4200099") == "42000");
}

TEST_CASE("append_err appends after existing bytes") {
    std::vector<std::byte> out = from_hex("01 00 00 00 01");
    append_err(out, 1, 1045, "28000", "");
    CHECK(to_hex(out) == "0100000001" "09000001ff1504233238303030");
}

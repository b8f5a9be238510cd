// The command tracker on synthetic streams built with the codec's writers.
#include <doctest/doctest.h>

#include <string>

#include "tether/codec/command.hpp"
#include "tether/codec/packet.hpp"
#include "tether/session/command_tracker.hpp"
#include "wire_builder.hpp"

namespace tether::session::test {

namespace {

namespace cap = codec::cap;
namespace status = codec::status;

const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);

enum class Split { whole, bytes };

void feed_server(CommandTracker& t, const ByteVec& b, Split split) {
    if (split == Split::whole) return t.on_server_bytes(b);
    for (std::size_t i = 0; i < b.size(); ++i) t.on_server_bytes(codec::Bytes(b).subspan(i, 1));
}

void feed_client(CommandTracker& t, const ByteVec& b, Split split, Clock::time_point now = t0) {
    if (split == Split::whole) return t.on_client_bytes(b, now);
    for (std::size_t i = 0; i < b.size(); ++i) t.on_client_bytes(codec::Bytes(b).subspan(i, 1), now);
}

// Feeds `b` one byte at a time and returns the offset of the byte after which
// the tracker first became idle (b.size() when it never did).
std::size_t idle_offset(CommandTracker& t, const ByteVec& b) {
    for (std::size_t i = 0; i < b.size(); ++i) {
        t.on_server_bytes(codec::Bytes(b).subspan(i, 1));
        if (t.idle()) return i;
    }
    return b.size();
}

ByteVec big_row(std::size_t value_size) {
    // One text column of `value_size` bytes: lenenc 0xFE + 8-byte length.
    ByteVec p;
    p.push_back(std::byte{0xFE});
    for (int i = 0; i < 8; ++i) p.push_back(static_cast<std::byte>((value_size >> (8 * i)) & 0xFF));
    p.resize(p.size() + value_size, std::byte{'x'});
    return p;
}

}  // namespace

TEST_CASE("tracker: text result set with and without DEPRECATE_EOF") {
    for (bool deprecate_eof : {false, true}) {
        for (auto split : {Split::whole, Split::bytes}) {
            CAPTURE(deprecate_eof);
            CAPTURE(split == Split::bytes);
            const codec::Capabilities caps = modern_caps | (deprecate_eof ? cap::deprecate_eof : 0);
            CommandTracker t(caps);
            CommandTracker probe(caps);
            CHECK(t.idle());
            feed_client(t, com_query("SELECT id, name FROM items"), split, t0 + std::chrono::seconds(5));
            feed_client(probe, com_query("SELECT id, name FROM items"), split);
            CHECK_FALSE(t.idle());
            CHECK(t.last_command_at() == t0 + std::chrono::seconds(5));
            const auto response = Stream(1)
                                      .text_result({"id", "name"}, {{"1", "apple"}, {"2", "pear"}, {"3", "plum"}},
                                                   deprecate_eof, status::autocommit)
                                      .bytes();
            // Idle exactly at the last byte of the terminator, not before.
            CHECK(idle_offset(probe, response) == response.size() - 1);
            CHECK(probe.synced());
            feed_server(t, response, split);
            CHECK(t.idle());
            CHECK(t.synced());
            CHECK_FALSE(t.in_transaction());
            CHECK(t.commands() == 1);
        }
    }
}

TEST_CASE("tracker: under DEPRECATE_EOF a 0xFE row is a row, the 0xFE OK is the end") {
    CommandTracker t(modern_caps | cap::deprecate_eof);
    feed_client(t, com_query("SELECT 1"), Split::whole);
    Stream s(1);
    s.column_count(1).column_definition("1").text_row({"1"});
    // The end-of-result OK carries IN_TRANS: the tracker takes the status from it.
    s.ok(status::in_trans | status::autocommit, 0xFE);
    feed_server(t, s.bytes(), Split::bytes);
    CHECK(t.idle());
    CHECK(t.in_transaction());
}

TEST_CASE("tracker: a row larger than 16 MiB spans 0xFFFFFF packets") {
    const std::size_t value = 17 * 1024 * 1024;
    for (bool deprecate_eof : {false, true}) {
        CAPTURE(deprecate_eof);
        CommandTracker t(modern_caps | (deprecate_eof ? cap::deprecate_eof : 0));
        feed_client(t, com_query("SELECT REPEAT('x', 17*1024*1024)"), Split::whole);
        Stream s(1);
        s.column_count(1).column_definition("REPEAT('x', 17*1024*1024)");
        if (!deprecate_eof) s.eof(status::autocommit);
        const std::size_t row_start = s.bytes().size();
        s.packet(big_row(value));  // 0xFFFFFF + rest: starts with 0xFE, like an EOF or 0xFE-OK
        const std::size_t row_end = s.bytes().size();
        if (deprecate_eof) {
            s.ok(status::autocommit, 0xFE);
        } else {
            s.eof(status::autocommit);
        }
        const ByteVec& bytes = s.bytes();
        // The row really is split, and its first physical packet starts with 0xFE.
        auto first = codec::decode_header(codec::Bytes(bytes).subspan(row_start));
        REQUIRE(first.ok());
        CHECK(first.value.payload_length == codec::max_physical_payload);
        CHECK(std::to_integer<int>(bytes[row_start + 4]) == 0xFE);
        CHECK(row_end - row_start == value + 9 + 2 * codec::header_size);
        // Feed in 64 KiB pieces; idle only after the terminator.
        std::size_t pos = 0;
        while (pos < row_end) {
            const std::size_t n = std::min<std::size_t>(64 * 1024, row_end - pos);
            t.on_server_bytes(codec::Bytes(bytes).subspan(pos, n));
            pos += n;
            REQUIRE_FALSE(t.idle());
        }
        CHECK(t.synced());
        t.on_server_bytes(codec::Bytes(bytes).subspan(row_end));
        CHECK(t.idle());
        CHECK(t.synced());
    }
}

TEST_CASE("tracker: a row larger than 16 MiB fed one byte at a time") {
    CommandTracker t(modern_caps | cap::deprecate_eof);
    feed_client(t, com_query("SELECT REPEAT('x', 17*1024*1024)"), Split::whole);
    Stream s(1);
    s.column_count(1).column_definition("big").packet(big_row(17 * 1024 * 1024)).ok(status::autocommit, 0xFE);
    CHECK(idle_offset(t, s.bytes()) == s.bytes().size() - 1);
    CHECK(t.synced());
}

TEST_CASE("tracker: a row of exactly 0xFFFFFF bytes ends with an empty packet that is no terminator") {
    CommandTracker t(modern_caps | cap::deprecate_eof);
    feed_client(t, com_query("SELECT b FROM blobs"), Split::whole);
    Stream s(1);
    s.column_count(1).column_definition("b");
    s.packet(big_row(codec::max_physical_payload - 9));  // payload exactly 0xFFFFFF: an empty packet follows
    s.text_row({"small"});
    s.ok(status::autocommit, 0xFE);
    CHECK(idle_offset(t, s.bytes()) == s.bytes().size() - 1);
    CHECK(t.synced());
}

TEST_CASE("tracker: MariaDB progress report (ERR 0xFFFF) does not end the command") {
    CommandTracker t(modern_caps);
    feed_client(t, com_query("ALTER TABLE items ADD COLUMN c INT"), Split::whole);
    Stream s(1);
    s.progress_report(1, 2, 50000);
    feed_server(t, s.bytes(), Split::bytes);
    CHECK_FALSE(t.idle());
    CHECK(t.synced());
    Stream more(2);
    more.progress_report(2, 2, 99000).ok(status::autocommit);
    feed_server(t, more.bytes(), Split::whole);
    CHECK(t.idle());
    CHECK(t.synced());
}

TEST_CASE("tracker: a real ERR ends the command, also in the middle of a result set") {
    CommandTracker t(modern_caps);
    feed_client(t, com_query("SELECT * FROM nope"), Split::whole);
    feed_server(t, Stream(1).err(1146, "42S02", "Table 'tether_test.nope' doesn't exist").bytes(), Split::whole);
    CHECK(t.idle());
    feed_client(t, com_query("SELECT * FROM items"), Split::whole);
    Stream s(1);
    s.column_count(1).column_definition("id").eof(status::autocommit).text_row({"1"});
    s.err(1317, "70100", "Query execution was interrupted");
    feed_server(t, s.bytes(), Split::bytes);
    CHECK(t.idle());
    CHECK(t.synced());
}

TEST_CASE("tracker: pipelined COM_STMT_PREPARE + COM_STMT_EXECUTE") {
    for (bool deprecate_eof : {false, true}) {
        CAPTURE(deprecate_eof);
        CommandTracker t(modern_caps | (deprecate_eof ? cap::deprecate_eof : 0));
        ByteVec both = com_stmt_prepare("SELECT c FROM sbtest1 WHERE id=?");
        const ByteVec execute = com_stmt_execute(1, 7);
        both.insert(both.end(), execute.begin(), execute.end());
        feed_client(t, both, Split::whole);
        CHECK_FALSE(t.idle());
        CHECK(t.commands() == 2);

        Stream prepared(1);
        prepared.stmt_prepare_ok(1, 1, 1).column_definition("?");
        if (!deprecate_eof) prepared.eof(status::autocommit);
        prepared.column_definition("c");
        if (!deprecate_eof) prepared.eof(status::autocommit);
        feed_server(t, prepared.bytes(), Split::bytes);
        CHECK_FALSE(t.idle());  // the EXECUTE is still waiting
        CHECK(t.synced());

        Stream executed(1);
        executed.column_count(1).column_definition("c");
        if (!deprecate_eof) executed.eof(status::autocommit);
        // Binary rows start with 0x00, like an OK.
        executed.packet(ByteVec{std::byte{0x00}, std::byte{0x00}, std::byte{0x03}, std::byte{'a'}, std::byte{'b'},
                                std::byte{'c'}});
        if (deprecate_eof) {
            executed.ok(status::autocommit, 0xFE);
        } else {
            executed.eof(status::autocommit);
        }
        feed_server(t, executed.bytes(), Split::whole);
        CHECK(t.idle());
        CHECK(t.synced());
    }
}

TEST_CASE("tracker: COM_STMT_PREPARE without parameters or columns is one OK") {
    CommandTracker t(modern_caps);
    feed_client(t, com_stmt_prepare("DO 1"), Split::whole);
    feed_server(t, Stream(1).stmt_prepare_ok(3, 0, 0).bytes(), Split::whole);
    CHECK(t.idle());
    CHECK(t.synced());
}

TEST_CASE("tracker: COM_STMT_CLOSE and COM_STMT_SEND_LONG_DATA get no response") {
    CommandTracker t(modern_caps);
    feed_client(t, com_stmt_close(1), Split::bytes);
    CHECK(t.idle());
    CHECK(t.commands() == 1);
    ByteVec long_data = frame(0, ByteVec{std::byte{0x18}, std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0},
                                         std::byte{0}, std::byte{0}, std::byte{'z'}});
    feed_client(t, long_data, Split::whole);
    CHECK(t.idle());
    // The next command is still followed.
    feed_client(t, com_simple(0x0E), Split::whole);
    CHECK_FALSE(t.idle());
    feed_server(t, Stream(1).ok(status::autocommit).bytes(), Split::whole);
    CHECK(t.idle());
    CHECK(t.synced());
    CHECK(t.commands() == 3);
}

TEST_CASE("tracker: LOCAL INFILE: request, upload, empty packet, OK") {
    for (auto split : {Split::whole, Split::bytes}) {
        CommandTracker t(modern_caps);
        feed_client(t, com_query("LOAD DATA LOCAL INFILE '/tmp/x' INTO TABLE items"), split);
        feed_server(t, Stream(1).local_infile_request("/tmp/x").bytes(), split);
        CHECK_FALSE(t.idle());
        // The file in two packets (seq 2, 3), then the empty packet (seq 4).
        Stream upload(2);
        upload.packet(bytes_of("kiwi\t1\n")).packet(bytes_of("\x03lime\t2\n")).packet({});
        feed_client(t, upload.bytes(), split);
        CHECK_FALSE(t.idle());
        CHECK(t.synced());
        CHECK(t.commands() == 1);  // file contents are not commands
        feed_server(t, Stream(5).ok(status::autocommit, 0x00, 2).bytes(), split);
        CHECK(t.idle());
        CHECK(t.synced());
    }
}

TEST_CASE("tracker: LOCAL INFILE request for anything but COM_QUERY loses sync") {
    CommandTracker t(modern_caps);
    feed_client(t, com_simple(0x0E), Split::whole);
    feed_server(t, Stream(1).local_infile_request("/etc/passwd").bytes(), Split::whole);
    CHECK_FALSE(t.synced());
    CHECK(t.desync_reason() != nullptr);
}

TEST_CASE("tracker: multi-results: OK with MORE_RESULTS_EXISTS, then a result set") {
    CommandTracker t(modern_caps);
    feed_client(t, com_query("UPDATE items SET qty=1; SELECT 1"), Split::whole);
    Stream s(1);
    s.ok(status::autocommit | status::more_results_exists);
    feed_server(t, s.bytes(), Split::whole);
    CHECK_FALSE(t.idle());
    Stream rest(s.next_sequence_id());
    rest.text_result({"1"}, {{"1"}}, false, status::autocommit);
    feed_server(t, rest.bytes(), Split::bytes);
    CHECK(t.idle());
}

TEST_CASE("tracker: in_transaction follows SERVER_STATUS_IN_TRANS of the last OK/EOF") {
    CommandTracker t(modern_caps);
    feed_client(t, com_query("BEGIN"), Split::whole);
    feed_server(t, Stream(1).ok(status::in_trans | status::autocommit).bytes(), Split::whole);
    CHECK(t.in_transaction());
    feed_client(t, com_query("SELECT 1"), Split::whole);
    feed_server(t, Stream(1).text_result({"1"}, {{"1"}}, false, status::in_trans | status::autocommit).bytes(),
                Split::whole);
    CHECK(t.in_transaction());
    feed_client(t, com_query("ROLLBACK"), Split::whole);
    feed_server(t, Stream(1).ok(status::autocommit).bytes(), Split::whole);
    CHECK_FALSE(t.in_transaction());
}

TEST_CASE("tracker: COM_RESET_CONNECTION ends the transaction with its OK") {
    CommandTracker t(modern_caps);
    feed_client(t, com_query("START TRANSACTION"), Split::whole);
    feed_server(t, Stream(1).ok(status::in_trans | status::autocommit).bytes(), Split::whole);
    REQUIRE(t.in_transaction());
    feed_client(t, com_simple(0x1F), Split::whole);
    CHECK_FALSE(t.idle());
    CHECK(t.in_transaction());  // until the server confirms
    feed_server(t, Stream(1).ok(status::autocommit).bytes(), Split::bytes);
    CHECK(t.idle());
    CHECK_FALSE(t.in_transaction());
    CHECK(t.synced());
}

TEST_CASE("tracker: COM_CHANGE_USER with an auth switch; the new login is taken once") {
    const codec::Capabilities caps = modern_caps;
    CommandTracker t(caps);
    const ByteVec change = com_change_user("other", "tether_test", "mysql_native_password",
                                           {{"_client_name", "libtest"}, {"program_name", "reports"}});
    REQUIRE(change.size() > 36);  // longer than the scanner's peek: the tracker must capture the rest
    feed_client(t, change, Split::bytes);
    CHECK_FALSE(t.idle());
    // AuthSwitchRequest (seq 1), the client's answer (seq 2), OK (seq 3).
    ByteVec sw{std::byte{0xFE}};
    for (char ch : std::string_view("mysql_native_password")) sw.push_back(static_cast<std::byte>(ch));
    sw.push_back(std::byte{0});
    for (int i = 0; i < 20; ++i) sw.push_back(static_cast<std::byte>(0x30 + i));
    sw.push_back(std::byte{0});
    feed_server(t, frame(1, sw), Split::whole);
    CHECK_FALSE(t.idle());
    CHECK_FALSE(t.user_changed());
    feed_client(t, frame(2, ByteVec(20, std::byte{0x55})), Split::whole);
    CHECK(t.synced());
    feed_server(t, Stream(3).ok(status::autocommit).bytes(), Split::whole);
    CHECK(t.idle());
    CHECK(t.synced());
    REQUIRE(t.user_changed());
    auto login = t.take_changed_user();
    CHECK_FALSE(t.user_changed());
    REQUIRE(login.has_value());
    CHECK(login->user == "other");
    CHECK(login->database == std::optional<std::string>("tether_test"));
    REQUIRE(login->attribute("program_name").has_value());
    CHECK(*login->attribute("program_name") == "reports");
    CHECK_FALSE(t.take_changed_user().has_value());
    // Only the identity is kept: no scramble in the login, no copy of the packet.
    CHECK(login->auth_response.empty());
    CHECK(t.change_user_capture_capacity() == 0);
}

TEST_CASE("tracker: a COM_CHANGE_USER in one piece keeps no copy of its scramble either") {
    CommandTracker t(modern_caps);
    const ByteVec change = com_change_user("other", "", "mysql_native_password", {});
    feed_client(t, change, Split::whole);
    CHECK(t.change_user_capture_capacity() == 0);
    CHECK(t.change_user_in_flight());
    feed_server(t, Stream(1).ok(status::autocommit).bytes(), Split::whole);
    CHECK_FALSE(t.change_user_in_flight());
    auto login = t.take_changed_user();
    REQUIRE(login.has_value());
    CHECK(login->auth_response.empty());
}

TEST_CASE("tracker: a refused COM_CHANGE_USER changes nobody") {
    CommandTracker t(modern_caps);
    feed_client(t, com_change_user("nobody", "", "mysql_native_password", {}), Split::whole);
    feed_server(t, Stream(1).err(1045, "28000", "Access denied for user 'nobody'").bytes(), Split::whole);
    CHECK(t.idle());
    CHECK(t.synced());
    CHECK_FALSE(t.user_changed());
}

TEST_CASE("tracker: COM_QUIT sets quit_sent and expects no reply") {
    CommandTracker t(modern_caps);
    ByteVec quit;
    codec::append_com_quit(quit);
    feed_client(t, quit, Split::bytes);
    CHECK(t.quit_sent());
    CHECK(t.idle());
}

TEST_CASE("tracker: an unknown or unfollowable command loses sync for good") {
    for (std::uint8_t command : {std::uint8_t{0x12}, std::uint8_t{0x40}, std::uint8_t{0xFE}}) {
        CAPTURE(static_cast<int>(command));
        CommandTracker t(modern_caps);
        feed_client(t, com_simple(command), Split::whole);
        CHECK_FALSE(t.synced());
        CHECK(t.desync_reason() != nullptr);
        // Nothing brings it back.
        feed_server(t, Stream(1).ok(status::autocommit).bytes(), Split::whole);
        feed_client(t, com_simple(0x0E), Split::whole);
        CHECK_FALSE(t.synced());
    }
}

TEST_CASE("tracker: protocol violations lose sync") {
    SUBCASE("a command that does not start at sequence 0") {
        CommandTracker t(modern_caps);
        feed_client(t, frame(3, ByteVec{std::byte{0x03}, std::byte{'x'}}), Split::whole);
        CHECK_FALSE(t.synced());
    }
    SUBCASE("a server packet with no command in flight") {
        CommandTracker t(modern_caps);
        feed_server(t, Stream(1).ok(0).bytes(), Split::whole);
        CHECK_FALSE(t.synced());
    }
    SUBCASE("but an ERR with no command in flight (wait_timeout) is tolerated") {
        CommandTracker t(modern_caps);
        feed_server(t, Stream(0).err(4031, "HY000", "The client was disconnected by the server").bytes(), Split::whole);
        CHECK(t.synced());
        CHECK(t.idle());
    }
    SUBCASE("no EOF after column definitions") {
        CommandTracker t(modern_caps);
        feed_client(t, com_query("SELECT 1"), Split::whole);
        feed_server(t, Stream(1).column_count(1).column_definition("1").text_row({"1"}).bytes(), Split::whole);
        CHECK_FALSE(t.synced());
    }
}

// The npm `mariadb` connector writes every query of a Promise.all before it
// reads any answer; the tracker used to keep 16 and give up on the 17th.
TEST_CASE("tracker: deep pipelines (the npm mariadb connector) are followed to the end, twice") {
    for (bool deprecate_eof : {false, true}) {
        for (std::size_t depth : {std::size_t{17}, std::size_t{50}, std::size_t{1000}}) {
            CAPTURE(deprecate_eof);
            CAPTURE(depth);
            CommandTracker t(modern_caps | (deprecate_eof ? cap::deprecate_eof : 0));
            for (int round = 0; round < 2; ++round) {
                CAPTURE(round);
                ByteVec commands;
                ByteVec responses;
                for (std::size_t i = 0; i < depth; ++i) {
                    const ByteVec q = com_query("SELECT " + std::to_string(i));
                    commands.insert(commands.end(), q.begin(), q.end());
                    // Every third command ends in an ERR, the rest in a result set; the
                    // last one (never an ERR at these depths) reports a transaction.
                    Stream s(1);
                    const std::uint16_t flags = i + 1 == depth ? status::in_trans : status::autocommit;
                    if (i % 3 == 2) {
                        s.err(1146, "42S02", "Table 'x' doesn't exist");
                    } else {
                        s.text_result({"n"}, {{std::to_string(i)}}, deprecate_eof, flags);
                    }
                    responses.insert(responses.end(), s.bytes().begin(), s.bytes().end());
                }
                feed_client(t, commands, Split::whole);
                CHECK(t.synced());
                CHECK_FALSE(t.idle());
                // Answers arrive in pieces; idle exactly at the last byte of the last one.
                CHECK(idle_offset(t, responses) == responses.size() - 1);
                CHECK(t.synced());
                CHECK(t.in_transaction());
            }
            CHECK(t.commands() == 2 * depth);
        }
    }
}

TEST_CASE("tracker: 4096 commands in flight are followed; the 4097th loses sync as pipeline_limit") {
    CommandTracker t(modern_caps);
    ByteVec pings;
    for (std::size_t i = 0; i < CommandTracker::max_in_flight; ++i) {
        const ByteVec p = com_simple(0x0E);
        pings.insert(pings.end(), p.begin(), p.end());
    }
    feed_client(t, pings, Split::whole);
    CHECK(t.synced());
    SUBCASE("all answered: idle and still synced") {
        ByteVec oks;
        for (std::size_t i = 0; i < CommandTracker::max_in_flight; ++i) {
            Stream ok(1);
            ok.ok(status::autocommit);
            oks.insert(oks.end(), ok.bytes().begin(), ok.bytes().end());
        }
        feed_server(t, oks, Split::whole);
        CHECK(t.idle());
        CHECK(t.synced());
    }
    SUBCASE("one more") {
        feed_client(t, com_simple(0x0E), Split::whole);
        CHECK_FALSE(t.synced());
        CHECK(t.desync_category() == DesyncReason::pipeline_limit);
        CHECK(t.desync_reason() != nullptr);
    }
}

TEST_CASE("tracker: each way of losing sync has its category") {
    SUBCASE("unsupported command") {
        CommandTracker t(modern_caps);
        feed_client(t, com_simple(0x12), Split::whole);  // COM_BINLOG_DUMP
        CHECK(t.desync_category() == DesyncReason::unsupported_command);
    }
    SUBCASE("a client packet that is no command") {
        CommandTracker t(modern_caps);
        feed_client(t, frame(3, ByteVec{std::byte{0x03}, std::byte{'x'}}), Split::whole);
        CHECK(t.desync_category() == DesyncReason::client_packet);
    }
    SUBCASE("a server packet that fits no response") {
        CommandTracker t(modern_caps);
        feed_server(t, Stream(1).ok(0).bytes(), Split::whole);
        CHECK(t.desync_category() == DesyncReason::server_packet);
    }
    SUBCASE("abandoned by the session") {
        CommandTracker t(modern_caps);
        t.abandon("test");
        CHECK_FALSE(t.synced());
        CHECK(t.desync_category() == DesyncReason::abandoned);
    }
}

}  // namespace tether::session::test

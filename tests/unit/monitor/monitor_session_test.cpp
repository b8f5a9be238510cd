// MonitorSession against recorded MariaDB 10.11 bytes: the login, both status
// queries (with and without DEPRECATE_EOF), an ERR, the size bounds, garbage.
#include <doctest/doctest.h>

#include "../support/hex.hpp"
#include "recorded_session.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/codec/packet.hpp"
#include "tether/monitor/monitor_session.hpp"
#include "tether/monitor/server_reading.hpp"

namespace tether::monitor {

namespace {

using test::load_session;
using test::nth;
using tether::test::from_hex;
using tether::test::to_hex;

const char* const tether_session = "tether-monitor_mariadb-10.11_session.hex";
const char* const pymysql_session = "pymysql_mariadb-10.11_eof-results.hex";

MonitorSettings settings(std::string password = "monitorpw") {
    MonitorSettings s;
    s.user = "monitor";
    s.password = Secret(password);
    return s;
}

// Feeds `bytes` whole, or one byte at a time, into one output.
MonitorOutput feed(MonitorSession& session, codec::Bytes bytes, bool bytewise = false) {
    MonitorOutput out;
    if (!bytewise) {
        session.on_server_bytes(bytes, out);
        return out;
    }
    for (std::size_t i = 0; i < bytes.size(); ++i) session.on_server_bytes(bytes.subspan(i, 1), out);
    return out;
}

codec::Login login_in(const std::vector<std::byte>& bytes, std::uint8_t& sequence_id) {
    const auto packet = codec::decode_packet(bytes);
    REQUIRE(packet.ok());
    REQUIRE(packet.consumed == bytes.size());
    sequence_id = packet.value.header.sequence_id;
    const auto login = codec::decode_login(packet.value.payload);
    REQUIRE(login.ok());
    return login.value;
}

std::string compact(const std::vector<std::byte>& bytes) {
    std::string out;
    for (char c : to_hex(bytes)) {
        if (c != ' ') out += c;
    }
    return out;
}

// A session logged in with the recorded greeting and OK.
void log_in(MonitorSession& session, const std::vector<test::Chunk>& chunks) {
    auto out = feed(session, nth(chunks, true, 0).bytes);
    REQUIRE_FALSE(out.to_server.empty());
    out = feed(session, nth(chunks, true, 1).bytes);
    REQUIRE(out.logged_in);
    REQUIRE(session.ready());
}

}  // namespace

TEST_CASE("the login for MariaDB's recorded greeting: mysql_native_password, the right scramble, seq 1") {
    const auto chunks = load_session(tether_session);
    MonitorSession session(settings());
    for (bool bytewise : {false, true}) {
        CAPTURE(bytewise);
        MonitorSession s(settings());
        auto out = feed(s, nth(chunks, true, 0).bytes, bytewise);
        CHECK_FALSE(out.failure);
        CHECK_FALSE(out.start_tls);
        std::uint8_t seq = 0;
        const codec::Login login = login_in(out.to_server, seq);
        CHECK(seq == 1);
        CHECK(login.user == "monitor");
        CHECK(login.auth_plugin_name == std::optional<std::string>("mysql_native_password"));
        // hashlib's scramble of this greeting's nonce (also what MariaDB accepted in the recording).
        CHECK(compact(login.auth_response) == "ce46893c633949e6753cf122a988b84dd3881f6c");
        CHECK((login.capabilities & codec::cap::ssl) == 0);
        CHECK((login.capabilities & codec::cap::deprecate_eof) != 0);
        CHECK((login.capabilities & codec::cap::client_mysql) == 0);  // MariaDB's greeting has it clear
        CHECK(login.attribute("program_name").has_value());
        CHECK(s.thread_id() == 36);
        // The recorded login, as MariaDB accepted it: the same up to the attributes.
        const auto& recorded = nth(chunks, false, 0).bytes;
        std::uint8_t recorded_seq = 0;
        const codec::Login accepted = login_in(recorded, recorded_seq);
        CHECK(accepted.capabilities == login.capabilities);
        CHECK(accepted.auth_response == login.auth_response);
        CHECK(accepted.character_set == login.character_set);
    }
}

TEST_CASE("PyMySQL's greeting gets the same scramble PyMySQL sent") {
    const auto chunks = load_session(pymysql_session);
    MonitorSession session(settings());
    auto out = feed(session, nth(chunks, true, 0).bytes);
    std::uint8_t seq = 0;
    const codec::Login ours = login_in(out.to_server, seq);
    const codec::Login theirs = login_in(nth(chunks, false, 0).bytes, seq);
    CHECK(ours.auth_response == theirs.auth_response);
}

TEST_CASE("logged in, the status queries' answers become rows (DEPRECATE_EOF), whole and byte by byte") {
    const auto chunks = load_session(tether_session);
    for (bool bytewise : {false, true}) {
        CAPTURE(bytewise);
        MonitorSession session(settings());
        log_in(session, chunks);
        MonitorOutput out;
        session.send_query(global_status_query, out);
        CHECK(out.to_server == nth(chunks, false, 1).bytes);
        CHECK_FALSE(session.ready());
        out = feed(session, nth(chunks, true, 2).bytes, bytewise);
        REQUIRE(out.results.size() == 1);
        const QueryResult& status = out.results[0];
        REQUIRE(status.ok);
        REQUIRE(status.rows.size() == 3);
        CHECK(status.rows[0] == Row{"Aborted_clients", "0"});
        CHECK(status.rows[1] == Row{"Aborted_connects", "7"});
        CHECK(status.rows[2] == Row{"Threads_connected", "1"});
        ServerReading reading;
        std::string error;
        CHECK(read_global_status(status.rows, reading, error));
        CHECK(reading.aborted_connects == 7);
        CHECK(reading.threads_connected == 1);
        CHECK(session.ready());

        out = {};
        session.send_query(connection_limits_query, out);
        CHECK(out.to_server == nth(chunks, false, 2).bytes);
        out = feed(session, nth(chunks, true, 3).bytes, bytewise);
        REQUIRE(out.results.size() == 1);
        CHECK(out.results[0].rows == Rows{Row{"200", "0"}});
        CHECK(read_connection_limits(out.results[0].rows, reading, error));
        CHECK(reading.max_connections == 200);

        out = {};
        session.quit(out);
        CHECK(out.to_server == nth(chunks, false, 3).bytes);  // COM_QUIT
        CHECK(out.close);
        CHECK_FALSE(out.failure);
    }
}

TEST_CASE("result sets that end with EOF packets (no DEPRECATE_EOF), a NULL, and an ERR") {
    const auto chunks = load_session(pymysql_session);
    auto greeting = nth(chunks, true, 0).bytes;
    // The recorded greeting with CLIENT_DEPRECATE_EOF (bit 24: bit 0 of the upper
    // capability word's high byte) cleared, so the session does not ask for it.
    const std::size_t upper_caps_high = 4 + 1 + std::string_view("5.5.5-10.11.19-MariaDB-0+deb12u1").size() + 1 + 4 + 8 + 1 + 2 + 1 + 2 + 1;
    REQUIRE(std::to_integer<int>(greeting[upper_caps_high]) == 0x81);
    greeting[upper_caps_high] &= std::byte{0xfe};
    MonitorSession session(settings());
    auto out = feed(session, greeting);
    std::uint8_t seq = 0;
    CHECK((login_in(out.to_server, seq).capabilities & codec::cap::deprecate_eof) == 0);
    out = feed(session, nth(chunks, true, 1).bytes);  // OK
    REQUIRE(out.logged_in);
    // PyMySQL's SET AUTOCOMMIT=0 answer (an OK) stands in for a statement's answer.
    out = {};
    session.send_query("SET AUTOCOMMIT = 0", out);
    out = feed(session, nth(chunks, true, 2).bytes);
    REQUIRE(out.results.size() == 1);
    CHECK(out.results[0].ok);
    CHECK(out.results[0].rows.empty());

    out = {};
    session.send_query(global_status_query, out);
    out = feed(session, nth(chunks, true, 3).bytes, true);
    REQUIRE(out.results.size() == 1);
    CHECK(out.results[0].rows.size() == 3);

    out = {};
    session.send_query("SELECT @@max_connections, @@max_user_connections, NULL", out);
    out = feed(session, nth(chunks, true, 4).bytes);
    REQUIRE(out.results.size() == 1);
    CHECK(out.results[0].rows == Rows{Row{"200", "0", std::nullopt}});

    out = {};
    session.send_query("KILL 999999", out);
    out = feed(session, nth(chunks, true, 5).bytes);
    REQUIRE(out.results.size() == 1);
    CHECK_FALSE(out.results[0].ok);
    CHECK(out.results[0].error_code == 1094);
    CHECK(out.results[0].error == "Unknown thread id: 999999");
    CHECK(session.ready());  // an ERR ends the query, not the session
}

TEST_CASE("an answer over the row or byte bound is an error, read to its end; the session goes on") {
    const auto chunks = load_session(tether_session);
    for (int bound : {0, 1}) {
        CAPTURE(bound);
        auto s = settings();
        if (bound == 0) s.max_result_rows = 2;
        if (bound == 1) s.max_result_bytes = 40;
        MonitorSession session(std::move(s));
        log_in(session, chunks);
        MonitorOutput out;
        session.send_query(global_status_query, out);
        out = feed(session, nth(chunks, true, 2).bytes);  // three rows of about 20 bytes
        REQUIRE(out.results.size() == 1);
        CHECK_FALSE(out.results[0].ok);
        CHECK(out.results[0].error_code == 0);
        CHECK(out.results[0].rows.empty());
        CHECK(out.results[0].error.find("larger than the monitor keeps") != std::string::npos);
        CHECK(session.ready());
        out = {};
        session.send_query(connection_limits_query, out);
        out = feed(session, nth(chunks, true, 3).bytes);
        REQUIRE(out.results.size() == 1);
        CHECK(out.results[0].ok);
    }
}

TEST_CASE("a packet header announcing more than the bound ends the session before its bytes are kept") {
    const auto chunks = load_session(tether_session);
    MonitorSession session(settings());
    log_in(session, chunks);
    MonitorOutput out;
    session.send_query(global_status_query, out);
    out = feed(session, from_hex("ff ff 7f 01"));  // 8 MiB, seq 1
    REQUIRE(out.failure);
    CHECK(out.failure->kind == MonitorFailure::Kind::protocol);
    CHECK(out.close);
    CHECK(session.closed());
}

TEST_CASE("garbage instead of a greeting, or inside an answer, is a protocol failure, never a crash") {
    const auto chunks = load_session(tether_session);
    {
        MonitorSession session(settings());
        auto out = feed(session, from_hex("05 00 00 00 47 45 54 20 2f"));  // "GET /" framed as a packet
        REQUIRE(out.failure);
        CHECK(out.failure->kind == MonitorFailure::Kind::protocol);
        CHECK(out.to_server.empty());
    }
    {
        MonitorSession session(settings());
        auto out = feed(session, from_hex("48 54 54 50 2f 31 2e 31 20 34 30 30"));  // "HTTP/1.1 400": a bad sequence id
        REQUIRE(out.failure);
        CHECK(out.failure->kind == MonitorFailure::Kind::protocol);
    }
    {
        MonitorSession session(settings());
        log_in(session, chunks);
        MonitorOutput out;
        session.send_query(global_status_query, out);
        // A column count, then a "column definition" that is not one.
        out = feed(session, from_hex("01 00 00 01 02  03 00 00 02 01 02 03"));
        REQUIRE(out.failure);
        CHECK(out.failure->kind == MonitorFailure::Kind::protocol);
    }
    {
        // Every prefix of the recorded answer is "need more", never a result or a failure.
        MonitorSession session(settings());
        log_in(session, chunks);
        MonitorOutput out;
        session.send_query(global_status_query, out);
        const auto& answer = nth(chunks, true, 2).bytes;
        out = feed(session, codec::Bytes(answer).first(answer.size() - 1));
        CHECK(out.results.empty());
        CHECK_FALSE(out.failure);
        out = feed(session, codec::Bytes(answer).last(1));
        CHECK(out.results.size() == 1);
    }
}

TEST_CASE("the server's ERR instead of a greeting: refused, with its code") {
    MonitorSession session(settings());
    // ERR 1040 as MariaDB sends it before a greeting (seq 0, no SQL state).
    auto out = feed(session, from_hex("17 00 00 00 ff 10 04 54 6f 6f 20 6d 61 6e 79 20 63 6f 6e 6e 65 63 74 69 6f 6e 73"));
    REQUIRE(out.failure);
    CHECK(out.failure->kind == MonitorFailure::Kind::refused);
    CHECK(out.failure->error_code == 1040);
    CHECK(out.failure->message.find("Too many connections") != std::string::npos);
}

TEST_CASE("a wrong password: the server's 1045, the message without the password") {
    const auto chunks = load_session(tether_session);
    MonitorSession session(settings("not-the-password"));
    auto out = feed(session, nth(chunks, true, 0).bytes);
    REQUIRE_FALSE(out.to_server.empty());
    // ERR 1045 (28000) as MariaDB 10.11 answers a wrong password, seq 2.
    const std::string message = "Access denied for user 'monitor'@'127.0.0.1' (using password: YES)";
    std::vector<std::byte> err = {std::byte{0xff}, std::byte{0x15}, std::byte{0x04}};
    for (char c : std::string("#28000") + message) err.push_back(static_cast<std::byte>(c));
    std::vector<std::byte> packet;
    codec::append_packet(packet, 2, err);
    out = feed(session, packet);
    REQUIRE(out.failure);
    CHECK(out.failure->kind == MonitorFailure::Kind::login);
    CHECK(out.failure->error_code == 1045);
    CHECK(out.failure->message.find(message) != std::string::npos);
    CHECK(out.failure->message.find("not-the-password") == std::string::npos);
}

TEST_CASE("the server closing: before the greeting, and logged in") {
    const auto chunks = load_session(tether_session);
    MonitorSession early(settings());
    MonitorOutput out;
    early.on_closed("ECONNRESET", out);
    REQUIRE(out.failure);
    CHECK(out.failure->kind == MonitorFailure::Kind::closed);
    CHECK(out.failure->message.find("before its greeting") != std::string::npos);

    MonitorSession late(settings());
    log_in(late, chunks);
    out = {};
    late.on_closed("", out);
    REQUIRE(out.failure);
    CHECK(out.failure->kind == MonitorFailure::Kind::closed);
}

}  // namespace tether::monitor

// Real MariaDB 10.11 traffic (tests/captures) replayed through a Session three ways: as captured,
// one byte at a time, and with consecutive same-direction chunks coalesced.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "capture.hpp"
#include "replay.hpp"
#include "tether/codec/compressed_frame.hpp"
#include "tether/codec/packet.hpp"
#include "tether/codec/response.hpp"
#include "tether/codec/wire.hpp"
#include "tether/session/greeting_rewrite.hpp"

namespace tether::session::test {

namespace {

constexpr Feeding all_feedings[] = {Feeding::as_captured, Feeding::byte_at_a_time, Feeding::coalesced};

// The capture's server stream with the greeting as tether shows it.
ByteVec expected_client_stream(const Capture& c) {
    const ByteVec server = c.stream(Direction::server);
    auto packet = codec::decode_logical_packet(server, 64 * 1024);
    REQUIRE(packet.ok());
    auto greeting = codec::decode_greeting(packet.value.payload);
    if (!greeting.ok()) return server;  // an ERR instead of a greeting goes through unchanged
    ByteVec out;
    codec::append_packet(out, packet.value.first_sequence_id, codec::encode_greeting(client_greeting(greeting.value)));
    out.insert(out.end(), server.begin() + static_cast<std::ptrdiff_t>(packet.consumed), server.end());
    return out;
}

// Index of the first client chunk whose first packet is command `command`
// (and, when given, whose text starts with `text`).
std::size_t find_command(const Capture& c, std::uint8_t command, std::string_view text = {}) {
    for (std::size_t i = 0; i < c.chunks.size(); ++i) {
        const auto b = c.packets(i);
        if (c.chunks[i].direction != Direction::client || b.size() < 5) continue;
        if (std::to_integer<std::uint8_t>(b[3]) != 0 || std::to_integer<std::uint8_t>(b[4]) != command) continue;
        const std::string_view rest(reinterpret_cast<const char*>(b.data()) + 5, b.size() - 5);
        if (rest.substr(0, text.size()) == text) return i;
    }
    FAIL("no such command in " << c.name);
    return 0;
}

void check_same(const Replay& a, const Replay& b) {
    CHECK(a.to_client == b.to_client);
    CHECK(a.to_upstream == b.to_upstream);
    CHECK(event_names(a.events) == event_names(b.events));
    CHECK(a.checkpoints == b.checkpoints);
    CHECK(a.phase_before_close == b.phase_before_close);
    CHECK(a.final_phase == b.final_phase);
    CHECK(a.reason == b.reason);
    CHECK(a.client_close_requested == b.client_close_requested);
    CHECK(a.upstream_close_requested == b.upstream_close_requested);
    CHECK(a.authenticated == b.authenticated);
    CHECK(a.thread_id == b.thread_id);
    CHECK(a.server_version == b.server_version);
    CHECK(a.commands == b.commands);
    CHECK(a.upstream_bytes_after_close == b.upstream_bytes_after_close);
    REQUIRE(a.login.has_value() == b.login.has_value());
    if (a.login) {
        CHECK(a.login->user == b.login->user);
        CHECK(a.login->database == b.login->database);
        CHECK(a.login->capabilities == b.login->capabilities);
        CHECK(a.login->attributes == b.login->attributes);
    }
}

// After every client chunk in the command phase a command is in flight unless
// the chunk's only commands get no reply; after every server chunk (each one a
// complete response in these captures) none is, unless it is a LOCAL INFILE request.
void check_in_flight_per_chunk(const Capture& c, const Replay& r) {
    REQUIRE(r.per_chunk.size() == c.chunks.size());
    for (std::size_t i = 0; i < c.chunks.size(); ++i) {
        const auto& cp = r.per_chunk[i];
        if (cp.phase != Phase::command) continue;
        CAPTURE(i);
        const auto b = c.packets(i);
        if (c.chunks[i].direction == Direction::server) {
            // A LOCAL INFILE request (0xFB) asks the client for data: the command goes on.
            const bool infile_request = b.size() > 4 && std::to_integer<std::uint8_t>(b[4]) == 0xFB;
            CHECK(cp.command_in_flight == infile_request);
            continue;
        }
        // A 4-byte chunk is the empty packet that ends a LOCAL INFILE upload: no command byte.
        const bool starts_command = b.size() > 4 && std::to_integer<std::uint8_t>(b[3]) == 0;
        const std::uint8_t command = starts_command ? std::to_integer<std::uint8_t>(b[4]) : 0;
        const bool no_reply = starts_command && (command == 0x01 || command == 0x19);
        CHECK(cp.command_in_flight == !no_reply);
    }
}

const codec::Login& login_of(const Replay& r) {
    REQUIRE(r.login.has_value());
    return *r.login;
}

std::string attribute(const codec::Login& login, std::string_view name) {
    const auto v = login.attribute(name);
    return v ? std::string(*v) : std::string("<absent>");
}

}  // namespace

TEST_CASE("captures: the directory holds the expected captures, each small") {
    const auto names = capture_names();
    for (const char* expected : {"mariadb-cli_select.hex", "mariadb-cli_compressed_transaction.hex",
                                 "pymysql_transaction_multi-statements.hex",
                                 "pymysql_wrong-password.hex", "pymysql_load-data-local-infile.hex",
                                 "sysbench_point-select_prepared.hex"}) {
        CAPTURE(expected);
        CHECK(std::find(names.begin(), names.end(), expected) != names.end());
    }
    for (const auto& name : names) {
        CAPTURE(name);
        const auto c = load_capture(name);
        CHECK(c.chunks.size() >= 3);
        CHECK(c.chunks.front().direction == Direction::server);  // the server speaks first
        // Both streams frame into whole packets (inside whole frames, when compressed).
        for (auto d : {Direction::client, Direction::server}) {
            ByteVec s;
            for (std::size_t i = 0; i < c.chunks.size(); ++i) {
                if (c.chunks[i].direction != d) continue;
                const ByteVec p = c.packets(i);
                s.insert(s.end(), p.begin(), p.end());
            }
            codec::Bytes rest = s;
            while (!rest.empty()) {
                auto p = codec::decode_packet(rest);
                REQUIRE(p.ok());
                rest = rest.subspan(p.consumed);
            }
        }
    }
}

TEST_CASE("captures: every byte passes, greeting rewritten, and the three feedings agree") {
    for (const auto& name : capture_names()) {
        CAPTURE(name);
        const Capture c = load_capture(name);
        const Replay base = replay(c, Feeding::as_captured);
        const ByteVec expected_client = expected_client_stream(c);
        const ByteVec client_stream = c.stream(Direction::client);
        for (auto feeding : all_feedings) {
            CAPTURE(feeding_name(feeding));
            const Replay r = feeding == Feeding::as_captured ? base : replay(c, feeding);
            // Every server byte reaches the client (the greeting as tether shows it) ...
            CHECK(r.to_client == expected_client);
            // ... and every client byte reaches the server, then at most tether's COM_QUIT.
            REQUIRE(r.to_upstream.size() >= client_stream.size());
            CHECK(ByteVec(r.to_upstream.begin(), r.to_upstream.begin() + static_cast<std::ptrdiff_t>(client_stream.size())) ==
                  client_stream);
            CHECK(r.to_upstream.size() == client_stream.size() + r.upstream_bytes_after_close.size());
            CHECK(count_events<GreetingReceived>(r.events) == 1);
            CHECK(count_events<LoginReceived>(r.events) == 1);
            CHECK(count_events<Desynced>(r.events) == 0);
            CHECK(r.final_phase == Phase::closed);
            CHECK(r.reason.has_value());
            check_same(base, r);
            if (feeding == Feeding::byte_at_a_time) CHECK(r.per_chunk == base.per_chunk);
        }
        check_in_flight_per_chunk(c, base);
    }
}

TEST_CASE("captures: the greeting shown to the client hides TLS and keeps everything else, compression too") {
    for (const auto& name : capture_names()) {
        CAPTURE(name);
        const Capture c = load_capture(name);
        const Replay r = replay(c, Feeding::as_captured);
        auto server_packet = codec::decode_logical_packet(c.chunks[0].bytes, 64 * 1024);
        auto shown_packet = codec::decode_logical_packet(r.to_client, 64 * 1024);
        REQUIRE(server_packet.ok());
        REQUIRE(shown_packet.ok());
        auto server = codec::decode_greeting(server_packet.value.payload);
        auto shown = codec::decode_greeting(shown_packet.value.payload);
        REQUIRE(server.ok());
        REQUIRE(shown.ok());
        CHECK(shown_packet.value.first_sequence_id == 0);
        CHECK(shown_packet.consumed == server_packet.consumed);
        // MariaDB 10.11 offers compression (and no TLS here): the client sees it, as tether decodes it.
        CHECK((server.value.capabilities & codec::cap::compress) != 0);
        CHECK((shown.value.capabilities & codec::cap::compress) != 0);
        CHECK((shown.value.capabilities & codec::cap::ssl) == 0);
        CHECK((shown.value.capabilities & codec::cap::mariadb_cache_metadata) == 0);
        CHECK(shown.value.capabilities == (server.value.capabilities & ~hidden_capabilities));
        CHECK(shown.value.server_version == server.value.server_version);
        CHECK(shown.value.server_version.rfind("5.5.5-10.11", 0) == 0);
        CHECK(shown.value.thread_id == server.value.thread_id);
        CHECK(shown.value.auth_plugin_data == server.value.auth_plugin_data);
        CHECK(shown.value.auth_plugin_name == server.value.auth_plugin_name);
        CHECK(r.thread_id == server.value.thread_id);
        CHECK(r.server_version == server.value.server_version);
    }
}

TEST_CASE("capture: mariadb CLI logs in, runs two SELECTs and quits") {
    const Capture c = load_capture("mariadb-cli_select.hex");
    const Replay r = replay(c, Feeding::as_captured);
    const auto& login = login_of(r);
    CHECK(login.user == "app");
    CHECK(login.database == std::optional<std::string>("tether_test"));
    CHECK(attribute(login, "program_name") == "mysql");
    CHECK(attribute(login, "_client_name") == "libmariadb");
    CHECK(attribute(login, "_os") == "Linux");
    CHECK(r.authenticated);
    // The phases: greeting relayed, login forwarded, then the command phase.
    CHECK(r.per_chunk[0].phase == Phase::awaiting_login);
    CHECK(r.per_chunk[1].phase == Phase::authenticating);
    CHECK(r.per_chunk[2].phase == Phase::command);
    const auto select1 = find_command(c, 0x03, "SELECT 1");
    CHECK(r.per_chunk[select1].command_in_flight);
    CHECK_FALSE(r.per_chunk[select1 + 1].command_in_flight);
    const auto select_items = find_command(c, 0x03, "SELECT * FROM items");
    CHECK(r.per_chunk[select_items].command_in_flight);
    CHECK_FALSE(r.per_chunk[select_items + 1].command_in_flight);
    for (const auto& cp : r.per_chunk) CHECK_FALSE(cp.in_transaction);
    CHECK(r.commands == 3);  // SELECT 1, SELECT *, COM_QUIT
    // The COM_QUIT (nothing in flight) ended the session before either socket closed.
    CHECK(r.phase_before_close == Phase::closed);
    CHECK(r.reason == CloseReason::client_quit);
    CHECK(r.upstream_bytes_after_close.empty());  // the client's own COM_QUIT was relayed: none added
    CHECK(r.client_close_requested);
    CHECK(r.upstream_close_requested);
}

TEST_CASE("capture: mariadb CLI with --compress: a transaction and a compressed result, followed through the frames") {
    const Capture c = load_capture("mariadb-cli_compressed_transaction.hex");
    REQUIRE(c.compressed());
    const Replay r = replay(c, Feeding::as_captured);
    const auto& login = login_of(r);
    CHECK((login.capabilities & codec::cap::compress) != 0);
    CHECK(attribute(login, "program_name") == "mysql");
    CHECK(r.per_chunk[2].phase == Phase::command);
    const auto begin = find_command(c, 0x03, "BEGIN");
    const auto insert = find_command(c, 0x03, "INSERT");
    const auto repeat = find_command(c, 0x03, "SELECT REPEAT");
    const auto commit = find_command(c, 0x03, "COMMIT");
    CHECK_FALSE(r.per_chunk[begin].in_transaction);
    CHECK(r.per_chunk[begin + 1].in_transaction);
    CHECK(r.per_chunk[insert].command_in_flight);
    CHECK(r.per_chunk[insert + 1].in_transaction);
    // The 12000-byte result travels zlib-compressed (the frame's uncompressed length is not 0).
    const auto& result = c.chunks[repeat + 1].bytes;
    auto header = codec::decode_compressed_header(result);
    REQUIRE(header.ok());
    CHECK_FALSE(header.value.stored());
    CHECK(c.packets(repeat + 1).size() > 12000);
    CHECK(result.size() < 1000);
    CHECK(r.per_chunk[repeat].command_in_flight);
    CHECK_FALSE(r.per_chunk[repeat + 1].command_in_flight);
    CHECK(r.per_chunk[repeat + 1].in_transaction);
    CHECK(r.per_chunk[commit].in_transaction);
    CHECK_FALSE(r.per_chunk[commit + 1].in_transaction);
    CHECK(r.commands == 6);  // SELECT 1, BEGIN, INSERT, SELECT REPEAT, COMMIT, COM_QUIT
    CHECK(r.reason == CloseReason::client_quit);
    CHECK(r.upstream_bytes_after_close.empty());

    // Between chunks (each a whole run of frames) the session holds no inflater.
    Driver d;
    d.connect();
    for (const auto& chunk : c.chunks) {
        for (std::size_t i = 0; i < chunk.bytes.size(); ++i) {
            const auto one = codec::Bytes(chunk.bytes).subspan(i, 1);
            chunk.direction == Direction::client ? d.client(one) : d.upstream(one);
        }
        if (d.session().phase() != Phase::command) continue;
        REQUIRE(d.session().compressed() != nullptr);
        CHECK_FALSE(d.session().compressed()->holds_inflater());
    }
}

TEST_CASE("capture: pymysql transaction and a multi-statement query") {
    const Capture c = load_capture("pymysql_transaction_multi-statements.hex");
    const Replay r = replay(c, Feeding::as_captured);
    const auto& login = login_of(r);
    CHECK(login.user == "app");
    CHECK(login.database == std::optional<std::string>("tether_test"));
    CHECK(attribute(login, "program_name") == "tether-capture");
    CHECK(attribute(login, "_client_name") == "pymysql");
    CHECK((login.capabilities & codec::cap::multi_statements) != 0);

    const auto begin = find_command(c, 0x03, "BEGIN");
    const auto insert = find_command(c, 0x03, "INSERT");
    const auto commit = find_command(c, 0x03, "COMMIT");
    const auto multi = find_command(c, 0x03, "SELECT 1;");
    CHECK_FALSE(r.per_chunk[begin].in_transaction);       // sent, not answered yet
    CHECK(r.per_chunk[begin + 1].in_transaction);         // BEGIN's OK has SERVER_STATUS_IN_TRANS
    CHECK_FALSE(r.per_chunk[begin + 1].command_in_flight);
    CHECK(r.per_chunk[insert].in_transaction);
    CHECK(r.per_chunk[insert].command_in_flight);
    CHECK(r.per_chunk[insert + 1].in_transaction);
    CHECK(r.per_chunk[commit].in_transaction);
    CHECK_FALSE(r.per_chunk[commit + 1].in_transaction);  // COMMIT's OK clears it
    CHECK_FALSE(r.per_chunk[commit + 1].command_in_flight);
    // Three results in one response (MORE_RESULTS_EXISTS): idle only after the last.
    CHECK(r.per_chunk[multi].command_in_flight);
    CHECK_FALSE(r.per_chunk[multi + 1].command_in_flight);
    CHECK_FALSE(r.per_chunk[multi + 1].in_transaction);
    CHECK(r.commands == 5);
    CHECK(r.reason == CloseReason::client_quit);
    CHECK(r.upstream_bytes_after_close.empty());
}

TEST_CASE("capture: pymysql multi-statement response split at every byte keeps MORE_RESULTS in flight") {
    // Feed the three-result response byte by byte: in flight through the first two results (their EOFs carry
    // MORE_RESULTS_EXISTS), idle once the last result's OK is read. The tracker decides on a packet's first
    // PacketScanner::peek_size bytes, so a long OK (this one has a 40-byte info text) ends the command
    // before its last bytes pass.
    const Capture c = load_capture("pymysql_transaction_multi-statements.hex");
    const auto multi = find_command(c, 0x03, "SELECT 1;");
    Driver d;
    d.connect();
    for (std::size_t i = 0; i <= multi; ++i) {
        if (c.chunks[i].direction == Direction::client) {
            d.client(c.chunks[i].bytes);
        } else {
            d.upstream(c.chunks[i].bytes);
        }
    }
    const ByteVec& response = c.chunks[multi + 1].bytes;
    REQUIRE(c.chunks[multi + 1].direction == Direction::server);
    // Where the last packet (the UPDATE's OK) starts.
    std::size_t last_packet = 0;
    for (codec::Bytes rest = response; !rest.empty();) {
        auto p = codec::decode_packet(rest);
        REQUIRE(p.ok());
        if (p.consumed == rest.size()) last_packet = response.size() - rest.size();
        rest = rest.subspan(p.consumed);
    }
    REQUIRE(std::to_integer<std::uint8_t>(response[last_packet + 4]) == 0x00);
    std::size_t idle_at = response.size();
    for (std::size_t b = 0; b < response.size(); ++b) {
        d.upstream(codec::Bytes(response).subspan(b, 1));
        if (!d.session().command_in_flight() && idle_at == response.size()) idle_at = b;
    }
    CHECK(idle_at > last_packet + 4);  // not before the final OK's status flags are read
    CHECK(idle_at < response.size());
    CHECK_FALSE(d.session().command_in_flight());
    CHECK(d.session().phase() == Phase::command);
}

TEST_CASE("capture: wrong password ends in auth_failed") {
    const Capture c = load_capture("pymysql_wrong-password.hex");
    for (auto feeding : all_feedings) {
        CAPTURE(feeding_name(feeding));
        const Replay r = replay(c, feeding);
        CHECK(count_events<AuthFailed>(r.events) == 1);
        CHECK(count_events<Authenticated>(r.events) == 0);
        CHECK_FALSE(r.authenticated);
        CHECK(r.phase_before_close == Phase::closed);
        CHECK(r.reason == CloseReason::auth_failed);
        CHECK(r.client_close_requested);
        CHECK(r.upstream_close_requested);
        CHECK(login_of(r).user == "app");
        // The client got the server's own ERR 1045 as the last packet.
        const ByteVec& server_err = c.chunks.back().bytes;
        REQUIRE(r.to_client.size() >= server_err.size());
        CHECK(ByteVec(r.to_client.end() - static_cast<std::ptrdiff_t>(server_err.size()), r.to_client.end()) == server_err);
        auto packet = codec::decode_packet(server_err);
        REQUIRE(packet.ok());
        auto err = codec::decode_err(packet.value.payload);
        REQUIRE(err.ok());
        CHECK(err.value.code == 1045);
        CHECK(err.value.sql_state == "28000");
    }
}

TEST_CASE("capture: LOAD DATA LOCAL INFILE keeps the command in flight through the upload") {
    const Capture c = load_capture("pymysql_load-data-local-infile.hex");
    const Replay r = replay(c, Feeding::as_captured);
    const auto load = find_command(c, 0x03, "LOAD DATA LOCAL INFILE");
    std::size_t i = load;
    CHECK(r.per_chunk[i].command_in_flight);
    // The server's 0xFB request, the client's data and its empty packet: still in flight.
    for (++i; i < c.chunks.size(); ++i) {
        const auto& b = c.chunks[i].bytes;
        if (c.chunks[i].direction == Direction::server && std::to_integer<std::uint8_t>(b[4]) == 0x00) break;
        CAPTURE(i);
        CHECK(r.per_chunk[i].command_in_flight);
    }
    REQUIRE(i < c.chunks.size());
    CHECK_FALSE(r.per_chunk[i].command_in_flight);  // the OK that ends the upload
    CHECK(r.commands == 2);                         // LOAD DATA, COM_QUIT: the file data is no command
    CHECK(r.reason == CloseReason::client_quit);
    CHECK(r.upstream_bytes_after_close.empty());
}

TEST_CASE("capture: sysbench prepared statements (binary protocol)") {
    const Capture c = load_capture("sysbench_point-select_prepared.hex");
    const Replay r = replay(c, Feeding::as_captured);
    CHECK(login_of(r).user == "app");
    CHECK(attribute(login_of(r), "_client_name") == "libmariadb");
    const auto prepare = find_command(c, 0x16);
    CHECK(r.per_chunk[prepare].command_in_flight);
    CHECK_FALSE(r.per_chunk[prepare + 1].command_in_flight);
    std::size_t executes = 0;
    for (std::size_t i = 0; i < c.chunks.size(); ++i) {
        const auto& b = c.chunks[i].bytes;
        if (c.chunks[i].direction != Direction::client || std::to_integer<std::uint8_t>(b[4]) != 0x17) continue;
        ++executes;
        CHECK(r.per_chunk[i].command_in_flight);
        CHECK_FALSE(r.per_chunk[i + 1].command_in_flight);
    }
    CHECK(executes == 5);
    CHECK(r.commands == 8);  // PREPARE, 5 x EXECUTE, STMT_CLOSE, QUIT
    CHECK_FALSE(r.per_chunk.back().command_in_flight);
    CHECK(r.reason == CloseReason::client_quit);
    CHECK(r.upstream_bytes_after_close.empty());
}

}  // namespace tether::session::test

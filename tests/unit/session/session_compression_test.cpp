// Session with the compressed protocol: frames forwarded unchanged, the packets inside them followed,
// tether's own COM_QUIT framed, a frame that does not decode desyncs but does not close.
#include <doctest/doctest.h>

#include "compressed_frames.hpp"
#include "session_test_support.hpp"
#include "tether/codec/command.hpp"

namespace tether::session::test {

namespace {

namespace cap = codec::cap;
namespace status = codec::status;

// Greeting, login asking for `client_compression`, the server's OK (never compressed).
void log_in_compressed(Driver& d, codec::Capabilities client_compression = cap::compress,
                       codec::Capabilities server = server_caps) {
    d.connect();
    d.upstream(greeting_bytes(server));
    d.client(login_bytes(modern_caps | client_compression));
    REQUIRE(d.session().phase() == Phase::authenticating);
    d.upstream(Stream(2).ok(status::autocommit).bytes());
    REQUIRE(d.session().phase() == Phase::command);
    REQUIRE(d.session().compressed() != nullptr);
    d.clear_output();
}

ByteVec zlib(std::uint8_t seq, const ByteVec& inner) { return compressed_frame(FrameKind::zlib, seq, inner); }
ByteVec stored(std::uint8_t seq, const ByteVec& inner) { return compressed_frame(FrameKind::stored, seq, inner); }

// What the mariadb CLI sends for COM_QUIT in a compressed session (tests/captures/mariadb-cli_compressed_transaction.hex).
const ByteVec framed_com_quit = {std::byte{0x05}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00},
                                 std::byte{0x00}, std::byte{0x01}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x01}};

ByteVec big_result(std::size_t rows, std::uint16_t end_status) {
    std::vector<std::vector<std::string>> values;
    for (std::size_t i = 0; i < rows; ++i) values.push_back({std::to_string(i), std::string(300, char('a' + i % 26))});
    return Stream(1).text_result({"id", "payload"}, values, false, end_status).bytes();
}

}  // namespace

TEST_CASE("compressed session: no decoder unless compression was agreed") {
    Driver d;
    log_in(d);
    CHECK(d.session().compressed() == nullptr);
    // The server offered zlib, the client did not ask: plain packets.
    d.client(com_query("SELECT 1"));
    d.upstream(Stream(1).text_result({"1"}, {{"1"}}, false, status::autocommit).bytes());
    CHECK_FALSE(d.session().command_in_flight());
    CHECK(d.session().phase() == Phase::command);
}

TEST_CASE("compressed session: zlib frames pass unchanged and their packets are followed") {
    for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{1000}}) {
        CAPTURE(step);
        Driver d;
        log_in_compressed(d);
        auto feed = [&](const ByteVec& b, bool from_client) {
            const std::size_t n = step == 0 ? b.size() : step;
            for (std::size_t i = 0; i < b.size(); i += n) {
                const auto piece = codec::Bytes(b).subspan(i, std::min(n, b.size() - i));
                from_client ? d.client(piece) : d.upstream(piece);
                CHECK(d.last.forward);
                CHECK(d.last.to_client.empty());
                CHECK(d.last.to_upstream.empty());
            }
        };
        ByteVec to_server;
        ByteVec to_client;
        auto send = [&](const ByteVec& b) { feed(b, true); to_server.insert(to_server.end(), b.begin(), b.end()); };
        auto answer = [&](const ByteVec& b) { feed(b, false); to_client.insert(to_client.end(), b.begin(), b.end()); };

        send(stored(0, com_query("BEGIN")));
        CHECK(d.session().command_in_flight());
        answer(stored(1, Stream(1).ok(status::in_trans | status::autocommit).bytes()));
        CHECK_FALSE(d.session().command_in_flight());
        CHECK(d.session().in_transaction());

        send(zlib(0, com_query("INSERT INTO items (name, qty) VALUES ('" + std::string(200, 'q') + "', 4)")));
        CHECK(d.session().command_in_flight());
        answer(stored(1, Stream(1).ok(status::in_trans | status::autocommit, 0x00, 1).bytes()));
        CHECK_FALSE(d.session().command_in_flight());

        // A result of ~3 MB in 16 KiB frames: packets span frames and reads.
        send(zlib(0, com_query("SELECT id, payload FROM big")));
        const ByteVec result = compressed_frames(FrameKind::zlib, big_result(10000, status::in_trans | status::autocommit), 16 * 1024, 1);
        answer(result);
        CHECK_FALSE(d.session().command_in_flight());
        CHECK(d.session().in_transaction());

        send(stored(0, com_query("COMMIT")));
        answer(stored(1, Stream(1).ok(status::autocommit).bytes()));
        CHECK_FALSE(d.session().in_transaction());
        CHECK_FALSE(d.session().command_in_flight());

        CHECK(d.to_upstream == to_server);  // every frame exactly as it came
        CHECK(d.to_client == to_client);
        CHECK_FALSE(d.saw<Desynced>());
        CHECK(d.session().phase() == Phase::command);
        CHECK(d.session().tracker().commands() == 4);
        // Between commands the session holds no inflater.
        CHECK_FALSE(d.session().compressed()->holds_inflater());
    }
}

TEST_CASE("compressed session: a response is in flight until its last frame has passed") {
    Driver d;
    log_in_compressed(d);
    d.client(stored(0, com_query("SELECT 1")));
    const ByteVec response = zlib(1, Stream(1).text_result({"x"}, {{std::string(500, 'x')}}, false, status::autocommit).bytes());
    // The packets inflate completely before the zlib trailer (4 bytes) arrives.
    const std::size_t cut = response.size() - 4;
    d.upstream(codec::Bytes(response).first(cut));
    CHECK(d.session().tracker().idle());
    CHECK(d.session().command_in_flight());  // the frame is not over: nothing may be written into the stream yet
    CHECK(d.session().compressed()->holds_inflater());
    SUBCASE("the trailer arrives") {
        d.upstream(codec::Bytes(response).subspan(cut));
        CHECK_FALSE(d.session().command_in_flight());
        CHECK_FALSE(d.session().compressed()->holds_inflater());
    }
    SUBCASE("the client goes: no COM_QUIT into the middle of a frame") {
        d.clear_output();
        d.client_closed();
        CHECK(d.to_upstream.empty());
        CHECK(d.upstream_close_requested);
        CHECK(d.session().close_reason() == CloseReason::client_closed);
    }
}

TEST_CASE("compressed session: tether's COM_QUIT travels in a stored frame") {
    SUBCASE("the client vanished while idle") {
        Driver d;
        log_in_compressed(d);
        d.client(stored(0, com_query("SELECT 1")));
        d.upstream(stored(1, Stream(1).text_result({"1"}, {{"1"}}, false, status::autocommit).bytes()));
        d.clear_output();
        d.client_closed();
        CHECK(d.to_upstream == framed_com_quit);
        CHECK(d.session().close_reason() == CloseReason::client_closed);
    }
    SUBCASE("an admin close of an idle session") {
        Driver d;
        log_in_compressed(d);
        d.close(CloseReason::admin);
        CHECK(d.to_upstream == framed_com_quit);
        CHECK(d.session().close_reason() == CloseReason::admin);
    }
    SUBCASE("the client's own COM_QUIT: none added") {
        Driver d;
        log_in_compressed(d);
        ByteVec quit;
        codec::append_com_quit(quit);
        d.client(stored(0, quit));
        d.clear_output();
        d.client_closed();
        CHECK(d.to_upstream.empty());
        CHECK(d.session().close_reason() == CloseReason::client_quit);
    }
}

TEST_CASE("compressed session: a frame that does not decode desyncs the session and keeps it open") {
    Driver d;
    log_in_compressed(d);
    d.client(stored(0, com_query("SELECT 1")));
    ByteVec bad = zlib(1, Stream(1).text_result({"1"}, {{std::string(100, '1')}}, false, status::autocommit).bytes());
    bad[9] ^= std::byte{0xFF};  // inside the deflate stream
    d.upstream(bad);
    CHECK(d.last.forward);  // passed on all the same: the peer decides what it makes of it
    CHECK(d.to_client == bad);
    CHECK(d.saw<Desynced>());
    CHECK(d.session().phase() == Phase::relaying);
    CHECK_FALSE(d.client_close_requested);
    CHECK_FALSE(d.upstream_close_requested);
    REQUIRE(d.session().desync_reason() != nullptr);
    CHECK(std::string(d.session().desync_reason()) == "compressed frame does not inflate");
    REQUIRE_FALSE(d.notes.empty());
    CHECK(d.notes.back().find("compressed frame does not inflate") != std::string::npos);
    CHECK(d.session().compressed() == nullptr);  // a blind relay keeps no decoder
    // Further frames pass unchanged.
    d.clear_output();
    const ByteVec next = stored(0, com_query("SELECT 2"));
    d.client(next);
    CHECK(d.to_upstream == next);
}

TEST_CASE("compressed session: a command pipelined behind the login is followed once the login completes") {
    Driver d;
    d.connect();
    d.upstream(greeting_bytes());
    ByteVec login = login_bytes(modern_caps | cap::compress);
    const ByteVec command = zlib(0, com_query("SELECT '" + std::string(100, 'p') + "'"));
    login.insert(login.end(), command.begin(), command.end());
    d.client(login);
    REQUIRE(d.session().phase() == Phase::authenticating);
    d.upstream(Stream(2).ok(status::autocommit).bytes());
    REQUIRE(d.session().phase() == Phase::command);
    CHECK(d.session().command_in_flight());
    d.upstream(zlib(1, Stream(1).text_result({"p"}, {{std::string(100, 'p')}}, false, status::autocommit).bytes()));
    CHECK_FALSE(d.session().command_in_flight());
    CHECK_FALSE(d.saw<Desynced>());
}

TEST_CASE("compressed session: zstd when the server offers it and the client asks for it alone") {
    Driver d;
    log_in_compressed(d, cap::zstd_compression, server_caps | cap::zstd_compression);
    const ByteVec query = compressed_frame(FrameKind::zstd, 0, com_query("SELECT '" + std::string(300, 'z') + "'"), 3);
    d.client(query);
    CHECK(d.session().command_in_flight());
    const ByteVec result = compressed_frames(FrameKind::zstd, big_result(2000, status::autocommit), 64 * 1024, 1);
    for (std::size_t i = 0; i < result.size(); i += 4096) d.upstream(codec::Bytes(result).subspan(i, std::min<std::size_t>(4096, result.size() - i)));
    CHECK_FALSE(d.session().command_in_flight());
    CHECK_FALSE(d.saw<Desynced>());
    CHECK(d.to_client == result);
    CHECK_FALSE(d.session().compressed()->holds_inflater());
}

TEST_CASE("compressed session: both algorithms asked for means zlib, as MySQL decides") {
    Driver d;
    log_in_compressed(d, cap::compress | cap::zstd_compression, server_caps | cap::zstd_compression);
    d.client(zlib(0, com_query("SELECT '" + std::string(100, 'b') + "'")));
    CHECK(d.session().command_in_flight());
    CHECK_FALSE(d.saw<Desynced>());
}

}  // namespace tether::session::test

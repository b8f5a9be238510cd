// Session handshake edge cases: early client close, TLS requests, garbage, timeouts, refusals,
// and the clean finish of an abandoned server handshake with the reserved login.
#include <doctest/doctest.h>

#include <algorithm>

#include "capture.hpp"
#include "session_test_support.hpp"
#include "tether/codec/command.hpp"
#include "tether/session/greeting_rewrite.hpp"

namespace tether::session::test {

namespace {

namespace cap = codec::cap;

// Checks that `bytes` is exactly one login for the reserved user, sent with
// sequence id 1 and the plugin the greeting named.
void check_reserved_login(const ByteVec& bytes, const std::string& plugin) {
    auto packet = single_packet(bytes);
    CHECK(packet.first_sequence_id == 1);
    auto login = codec::decode_login(packet.payload);
    REQUIRE(login.ok());
    CHECK(login.value.user == Driver::default_config().reserved_user);
    CHECK(login.value.auth_plugin_name == std::optional<std::string>(plugin));
    CHECK(login.value.auth_response.empty());
    CHECK((login.value.capabilities & cap::protocol_41) != 0);
    CHECK((login.value.capabilities & (cap::ssl | cap::compress | cap::connect_attrs)) == 0);
    CHECK_FALSE(login.value.database.has_value());
}

ByteVec err_1045(std::uint8_t seq) {
    return Stream(seq).err(1045, "28000", "Access denied for user 'tether_abort_login'@'10.0.0.7'").bytes();
}

}  // namespace

TEST_CASE("session: start asks for the upstream connection") {
    Driver d;
    d.connect();
    CHECK(d.connect_requested);
    CHECK(d.session().phase() == Phase::awaiting_greeting);
    CHECK(d.session().upstream_open());
    CHECK(d.to_client.empty());
    CHECK(d.to_upstream.empty());
}

TEST_CASE("session: started late (after a wait for a handshake slot), --connect-timeout runs from the start") {
    const SessionConfig config = Driver::default_config();  // connect 5 s, handshake 10 s
    const Clock::time_point accepted = Clock::time_point{} + std::chrono::hours(1);
    Session s(config, accepted);
    Actions a;
    s.start(accepted + std::chrono::seconds(4), a);
    CHECK(a.connect_upstream);
    Actions tick;
    s.on_tick(accepted + std::chrono::seconds(6), tick);  // 6 s after accept, 2 s after the start
    CHECK(s.phase() == Phase::connecting);
    CHECK(tick.to_client.empty());
    s.on_tick(accepted + std::chrono::milliseconds(9'100), tick);
    CHECK(s.phase() == Phase::closed);
    CHECK(s.close_reason() == CloseReason::upstream_unreachable);
}

TEST_CASE("session: a full synthetic login, fed whole and one byte at a time") {
    for (bool bytewise : {false, true}) {
        CAPTURE(bytewise);
        Driver d;
        d.connect();
        const ByteVec greeting = greeting_bytes();
        auto feed_up = [&](const ByteVec& b) {
            if (!bytewise) return d.upstream(b);
            for (std::size_t i = 0; i < b.size(); ++i) d.upstream(codec::Bytes(b).subspan(i, 1));
        };
        auto feed_client = [&](const ByteVec& b) {
            if (!bytewise) return d.client(b);
            for (std::size_t i = 0; i < b.size(); ++i) d.client(codec::Bytes(b).subspan(i, 1));
        };
        feed_up(greeting);
        CHECK(d.saw<GreetingReceived>());
        CHECK(d.session().upstream_thread_id() == 4242);
        CHECK(d.session().phase() == Phase::awaiting_login);
        // The client sees the greeting minus TLS, nothing else changed: the
        // server's compression stays on offer (tether decodes it).
        auto shown = codec::decode_greeting(single_packet(d.to_client).payload);
        REQUIRE(shown.ok());
        CHECK((shown.value.capabilities & cap::ssl) == 0);
        CHECK((shown.value.capabilities & cap::compress) != 0);
        CHECK(shown.value.capabilities == (server_caps & ~cap::ssl));
        CHECK(d.to_client.size() == greeting.size());
        CHECK(d.to_client[0] == greeting[0]);
        const ByteVec login = login_bytes();
        feed_client(login);
        CHECK(d.saw<LoginReceived>());
        CHECK(d.to_upstream == login);  // forwarded byte-identical after admission
        REQUIRE(d.session().login() != nullptr);
        CHECK(d.session().login()->user == "app");
        CHECK(d.session().login()->database == std::optional<std::string>("tether_test"));
        REQUIRE(d.session().login()->attribute("program_name").has_value());
        CHECK(*d.session().login()->attribute("program_name") == "billing");
        CHECK(d.session().phase() == Phase::authenticating);
        const ByteVec ok = Stream(2).ok(codec::status::autocommit).bytes();
        feed_up(ok);
        CHECK(d.saw<Authenticated>());
        CHECK(d.session().phase() == Phase::command);
        CHECK(ByteVec(d.to_client.end() - static_cast<std::ptrdiff_t>(ok.size()), d.to_client.end()) == ok);
        CHECK_FALSE(d.session().command_in_flight());
        CHECK_FALSE(d.session().in_transaction());
    }
}

TEST_CASE("session: client closes before the greeting: tether finishes the login with the reserved user") {
    Driver d;
    d.connect();
    d.client_closed();
    CHECK(d.session().phase() == Phase::finishing_upstream);
    CHECK(d.session().close_reason() == CloseReason::handshake_failed);
    CHECK_FALSE(d.session().client_open());
    CHECK(d.to_upstream.empty());
    d.upstream(greeting_bytes());
    CHECK(d.to_client.empty());  // nobody to tell
    CHECK(d.saw<GreetingReceived>());
    check_reserved_login(d.to_upstream, "mysql_native_password");
    CHECK_FALSE(d.upstream_close_requested);
    d.upstream(err_1045(2));
    CHECK(d.upstream_close_requested);
    CHECK(d.session().phase() == Phase::closed);
    CHECK(d.session().close_reason() == CloseReason::handshake_failed);  // one reason, the first
}

TEST_CASE("session: client closes while the upstream is still connecting") {
    Driver d;
    Actions a;
    d.session().start(a);
    d.client_closed();
    CHECK(d.session().phase() == Phase::finishing_upstream);
    d.session().on_upstream_connected(d.now(), a);
    CHECK(d.session().phase() == Phase::finishing_upstream);
    d.upstream(greeting_bytes(server_caps, "caching_sha2_password"));
    check_reserved_login(d.to_upstream, "caching_sha2_password");
    d.upstream(err_1045(2));
    CHECK(d.session().phase() == Phase::closed);
}

TEST_CASE("session: client closes after the greeting, before its login") {
    Driver d;
    d.connect();
    d.upstream(greeting_bytes());
    d.clear_output();
    d.client_closed();
    CHECK(d.session().phase() == Phase::finishing_upstream);
    check_reserved_login(d.to_upstream, "mysql_native_password");
    d.upstream(err_1045(2));
    CHECK(d.upstream_close_requested);
    CHECK(d.session().phase() == Phase::closed);
}

TEST_CASE("session: the finish answers an auth switch and AuthMoreData with the right sequence ids") {
    Driver d;
    d.connect();
    d.upstream(greeting_bytes(server_caps, "caching_sha2_password"));
    d.client_closed();
    d.clear_output();
    REQUIRE(d.session().phase() == Phase::finishing_upstream);
    // Server: AuthSwitchRequest (seq 2) -> tether: empty auth-switch response (seq 3).
    ByteVec sw{std::byte{0xFE}};
    for (char ch : std::string_view("mysql_native_password")) sw.push_back(static_cast<std::byte>(ch));
    sw.push_back(std::byte{0});
    sw.resize(sw.size() + 20, std::byte{0x2A});
    sw.push_back(std::byte{0});
    d.upstream(frame(2, sw));
    CHECK(d.to_upstream == frame(3, {}));
    CHECK(d.session().phase() == Phase::finishing_upstream);
    d.clear_output();
    // caching_sha2 fast-auth success (0x01 0x03, seq 4) needs no answer; a full-auth request (0x01 0x04, seq 5)
    // gets one wrong byte (seq 6).
    d.upstream(frame(4, ByteVec{std::byte{0x01}, std::byte{0x03}}));
    CHECK(d.to_upstream.empty());
    d.upstream(frame(5, ByteVec{std::byte{0x01}, std::byte{0x04}}));
    CHECK(d.to_upstream == frame(6, ByteVec{std::byte{0x00}}));
    d.upstream(err_1045(7));
    CHECK(d.session().phase() == Phase::closed);
    CHECK(d.upstream_close_requested);
}

TEST_CASE("session: the finish leaves politely when the server accepts the reserved login") {
    Driver d;
    d.connect();
    d.upstream(greeting_bytes());
    d.client_closed();
    d.clear_output();
    d.upstream(Stream(2).ok(codec::status::autocommit).bytes());
    ByteVec quit;
    codec::append_com_quit(quit);
    CHECK(d.to_upstream == quit);
    CHECK(d.upstream_close_requested);
    CHECK(d.session().phase() == Phase::closed);
}

TEST_CASE("session: the finish gives up at its deadline") {
    Driver d;
    d.connect();
    d.upstream(greeting_bytes());
    d.client_closed();
    d.tick_after(std::chrono::milliseconds(5'000));
    CHECK(d.session().phase() == Phase::finishing_upstream);
    d.tick_after(std::chrono::milliseconds(20'000));
    CHECK(d.session().phase() == Phase::closed);
    CHECK(d.upstream_close_requested);
}

TEST_CASE("session: SSLRequest: ERR to the client (seq 2), reserved login upstream") {
    Driver d;
    d.connect();
    d.upstream(greeting_bytes());
    d.clear_output();
    // The first 32 bytes of a login with CLIENT_SSL.
    auto login = test_login(modern_caps | cap::ssl, "app", std::nullopt, {});
    ByteVec payload = codec::encode_login(login);
    payload.resize(codec::ssl_request_size);
    REQUIRE(codec::is_ssl_request(payload));
    d.client(frame(1, payload));
    const auto err = single_err(d.to_client);
    CHECK(err.sequence_id == 2);
    CHECK(err.code == 1043);
    CHECK(err.sql_state == "08S01");
    CHECK(err.message.find("TLS") != std::string::npos);
    CHECK(d.client_close_requested);
    CHECK_FALSE(d.saw<LoginReceived>());
    CHECK(d.session().close_reason() == CloseReason::handshake_failed);
    CHECK(d.session().phase() == Phase::finishing_upstream);
    check_reserved_login(d.to_upstream, "mysql_native_password");
    d.upstream(err_1045(2));
    CHECK(d.session().phase() == Phase::closed);
}

TEST_CASE("session: the libmysql 8.0.20 SSLRequest fixture is refused the same way") {
    // The fixture holds the SSLRequest and the (would-be encrypted) login after it.
    const ByteVec fixture = load_fixture_bytes("seq_libmysql-8.0.20_sslrequest_then_response41-lenenc.hex");
    auto first = codec::decode_packet(fixture);
    REQUIRE(first.ok());
    Driver d;
    d.connect();
    d.upstream(greeting_bytes());
    d.clear_output();
    d.client(codec::Bytes(fixture).first(first.consumed));
    const auto err = single_err(d.to_client);
    CHECK(err.sequence_id == 2);
    CHECK(err.code == 1043);
    CHECK(d.session().close_reason() == CloseReason::handshake_failed);
    check_reserved_login(d.to_upstream, "mysql_native_password");
}

TEST_CASE("session: garbage instead of a login") {
    SUBCASE("a packet too short to be a login") {
        Driver d;
        d.connect();
        d.upstream(greeting_bytes());
        d.clear_output();
        d.client(frame(1, bytes_of("hi")));
        const auto err = single_err(d.to_client);
        CHECK(err.sequence_id == 2);
        CHECK(err.code == 1043);
        CHECK(d.client_close_requested);
        CHECK(d.session().close_reason() == CloseReason::handshake_failed);
        check_reserved_login(d.to_upstream, "mysql_native_password");
    }
    SUBCASE("an HTTP request") {
        Driver d;
        d.connect();
        d.upstream(greeting_bytes());
        d.clear_output();
        d.client(bytes_of("GET / HTTP/1.1\r\nHost: db\r\n\r\n"));
        const auto err = single_err(d.to_client);
        CHECK(err.code == 1043);
        CHECK(d.client_close_requested);
        CHECK(d.session().close_reason() == CloseReason::handshake_failed);
        CHECK(d.session().phase() == Phase::finishing_upstream);
    }
    SUBCASE("a login that asks for compression the server did not offer") {
        Driver d;
        d.connect();
        d.upstream(greeting_bytes(server_caps & ~cap::compress));
        d.clear_output();
        d.client(login_bytes(modern_caps | cap::compress));
        const auto err = single_err(d.to_client);
        CHECK(err.sequence_id == 2);
        CHECK(err.code == 1043);
        CHECK(err.message.find("compression") != std::string::npos);
        CHECK(d.session().close_reason() == CloseReason::handshake_failed);
        CHECK_FALSE(d.saw<LoginReceived>());
    }
    SUBCASE("a login that asks only for zstd from a server that offers only zlib") {
        Driver d;
        d.connect();
        d.upstream(greeting_bytes());
        d.clear_output();
        d.client(login_bytes(modern_caps | cap::zstd_compression));
        const auto err = single_err(d.to_client);
        CHECK(err.code == 1043);
        CHECK(d.session().close_reason() == CloseReason::handshake_failed);
        CHECK_FALSE(d.saw<LoginReceived>());
    }
}

TEST_CASE("session: handshake timeout") {
    Driver d;
    d.connect();
    d.upstream(greeting_bytes());
    d.clear_output();
    d.tick_after(std::chrono::milliseconds(9'000));
    CHECK(d.session().phase() == Phase::awaiting_login);
    CHECK_FALSE(d.session().close_reason().has_value());
    d.tick_after(std::chrono::milliseconds(10'001));
    CHECK(d.session().close_reason() == CloseReason::client_timeout);
    CHECK(d.client_close_requested);
    CHECK(d.session().phase() == Phase::finishing_upstream);
    check_reserved_login(d.to_upstream, "mysql_native_password");
}

TEST_CASE("session: upstream sends no greeting in time") {
    Driver d;
    d.connect();
    d.tick_after(std::chrono::milliseconds(10'001));
    CHECK(d.session().close_reason() == CloseReason::upstream_unreachable);
    const auto err = single_err(d.to_client);
    CHECK(err.sequence_id == 0);
    CHECK(err.code == 9001);
    CHECK(err.message.find("db.test:3306") != std::string::npos);
    CHECK(d.client_close_requested);
    CHECK(d.upstream_close_requested);
    CHECK(d.session().phase() == Phase::closed);
}

TEST_CASE("session: upstream connect failure: ERR seq 0 naming the upstream") {
    Driver d;
    Actions a;
    d.session().start(a);
    d.connect_failed("connection refused");
    const auto err = single_err(d.to_client);
    CHECK(err.sequence_id == 0);
    CHECK(err.code == 9001);
    CHECK(err.sql_state == "08S01");
    CHECK(err.message.find("db.test:3306") != std::string::npos);
    CHECK(err.message.find("connection refused") != std::string::npos);
    CHECK(d.session().close_reason() == CloseReason::upstream_unreachable);
    CHECK(d.client_close_requested);
    CHECK(d.session().phase() == Phase::closed);
}

TEST_CASE("session: connect timeout") {
    Driver d;
    Actions a;
    d.session().start(a);
    d.tick_after(std::chrono::milliseconds(5'001));
    CHECK(d.session().close_reason() == CloseReason::upstream_unreachable);
    CHECK(d.upstream_close_requested);  // cancels the pending connect
    CHECK(single_err(d.to_client).sequence_id == 0);
}

TEST_CASE("session: server ERR 1040 instead of a greeting goes to the client unchanged") {
    const ByteVec fixture = load_fixture_bytes("err_1040_too-many-connections_pre-handshake.hex");
    for (bool bytewise : {false, true}) {
        CAPTURE(bytewise);
        Driver d;
        d.connect();
        if (bytewise) {
            for (std::size_t i = 0; i < fixture.size(); ++i) d.upstream(codec::Bytes(fixture).subspan(i, 1));
        } else {
            d.upstream(fixture);
        }
        CHECK(d.to_client == fixture);
        CHECK(d.saw<UpstreamRefused>());
        CHECK_FALSE(d.saw<GreetingReceived>());
        CHECK(d.client_close_requested);
        CHECK(d.upstream_close_requested);
        CHECK(d.session().close_reason() == CloseReason::upstream_closed);
        CHECK(d.session().phase() == Phase::closed);
        REQUIRE_FALSE(d.notes.empty());
        CHECK(d.notes.back().find("1040") != std::string::npos);
    }
}

TEST_CASE("session: admission refused: ERR at the login's sequence id + 1, reserved login upstream") {
    for (std::uint8_t login_seq : {std::uint8_t{1}, std::uint8_t{2}}) {
        CAPTURE(static_cast<int>(login_seq));
        Driver d;
        d.auto_admit = false;
        d.connect();
        d.upstream(greeting_bytes());
        d.clear_output();
        const ByteVec login = frame(login_seq, codec::encode_login(test_login(modern_caps, "app", "tether_test", {})));
        d.client(login);
        REQUIRE(d.saw<LoginReceived>());
        CHECK(d.session().phase() == Phase::awaiting_admission);
        CHECK(d.to_upstream.empty());  // nothing goes upstream before the owner decides
        d.admit(Admission::refuse(1203, "42000", "User app already has more than 'max_user_connections' active connections"));
        const auto err = single_err(d.to_client);
        CHECK(err.sequence_id == login_seq + 1);
        CHECK(err.code == 1203);
        CHECK(err.sql_state == "42000");
        CHECK(err.message == "User app already has more than 'max_user_connections' active connections");
        CHECK(d.client_close_requested);
        CHECK(d.session().close_reason() == CloseReason::rejected);
        CHECK(d.session().phase() == Phase::finishing_upstream);
        // The client's own login never reaches the server; the reserved one does.
        check_reserved_login(d.to_upstream, "mysql_native_password");
        d.upstream(err_1045(2));
        CHECK(d.session().phase() == Phase::closed);
        CHECK(d.session().close_reason() == CloseReason::rejected);
    }
}

TEST_CASE("session: bytes the client sends after its login wait for admission and follow the login") {
    Driver d;
    d.auto_admit = false;
    d.connect();
    d.upstream(greeting_bytes());
    d.clear_output();
    const ByteVec login = login_bytes();
    d.client(login);
    REQUIRE(d.session().phase() == Phase::awaiting_admission);
    const ByteVec extra = frame(3, ByteVec(20, std::byte{0x33}));  // e.g. an early auth-switch answer
    d.client(extra);
    CHECK(d.to_upstream.empty());
    d.admit(Admission::allow());
    ByteVec expected = login;
    expected.insert(expected.end(), extra.begin(), extra.end());
    CHECK(d.to_upstream == expected);
    CHECK(d.session().phase() == Phase::authenticating);
}

TEST_CASE("session: an auth switch relayed in a real login (MySQL 8.0.42 fixture)") {
    const ByteVec fixture = load_fixture_bytes("seq_mysql-8.0.42_authswitch-caching-sha2.hex");
    codec::Bytes rest = fixture;
    std::vector<ByteVec> packets;
    while (!rest.empty()) {
        auto p = codec::decode_packet(rest);
        REQUIRE(p.ok());
        packets.emplace_back(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(p.consumed));
        rest = rest.subspan(p.consumed);
    }
    REQUIRE(packets.size() == 4);
    for (bool bytewise : {false, true}) {
        CAPTURE(bytewise);
        Driver d;
        d.connect();
        auto feed = [&](const ByteVec& b, bool from_client) {
            const std::size_t step = bytewise ? 1 : b.size();
            for (std::size_t i = 0; i < b.size(); i += step) {
                const auto piece = codec::Bytes(b).subspan(i, std::min(step, b.size() - i));
                from_client ? d.client(piece) : d.upstream(piece);
            }
        };
        feed(packets[0], false);  // greeting: caps 0xdfffffff, SSL and compression on offer
        auto shown = codec::decode_greeting(single_packet(d.to_client).payload);
        REQUIRE(shown.ok());
        CHECK(shown.value.capabilities == (0xdfffffffull & ~hidden_capabilities));
        CHECK(shown.value.server_version == "8.0.42");
        CHECK(d.session().upstream_thread_id() == 51);
        d.clear_output();

        feed(packets[1], true);  // the login (plugin field reads "prisma")
        CHECK(d.saw<LoginReceived>());
        CHECK(d.to_upstream == packets[1]);
        REQUIRE(d.session().login() != nullptr);
        CHECK(d.session().login()->user == "root");
        CHECK_FALSE(d.session().login()->database.has_value());
        d.clear_output();

        feed(packets[2], false);  // AuthSwitchRequest: relayed byte-identical
        CHECK(d.to_client == packets[2]);
        CHECK(d.session().phase() == Phase::authenticating);
        d.clear_output();

        feed(packets[3], true);  // the client's answer: forwarded byte-identical
        CHECK(d.to_upstream == packets[3]);
        d.clear_output();

        const ByteVec ok = Stream(4).ok(codec::status::autocommit).bytes();
        feed(ok, false);
        CHECK(d.to_client == ok);
        CHECK(d.saw<Authenticated>());
        CHECK(d.session().phase() == Phase::command);
        CHECK(d.session().authenticated());
    }
}

TEST_CASE("session: an auth failure after an auth switch") {
    Driver d;
    d.connect();
    d.upstream(greeting_bytes(server_caps, "caching_sha2_password"));
    d.client(login_bytes());
    d.upstream(frame(2, ByteVec{std::byte{0x01}, std::byte{0x04}}));  // perform full authentication
    CHECK(d.session().phase() == Phase::authenticating);
    d.client(frame(3, bytes_of(std::string("secret\0", 7))));
    d.upstream(err_1045(4));
    CHECK(d.saw<AuthFailed>());
    CHECK(d.session().close_reason() == CloseReason::auth_failed);
    CHECK(d.client_close_requested);
    CHECK(d.upstream_close_requested);
    CHECK(d.session().phase() == Phase::closed);
    CHECK_FALSE(d.session().authenticated());
}

TEST_CASE("session: upstream closes before its greeting") {
    Driver d;
    d.connect();
    d.upstream_closed();
    CHECK(d.session().close_reason() == CloseReason::upstream_closed);
    const auto err = single_err(d.to_client);
    CHECK(err.sequence_id == 0);
    CHECK(err.code == 9001);
    CHECK(d.client_close_requested);
    CHECK(d.session().phase() == Phase::closed);
}

TEST_CASE("session: close reasons have names") {
    for (auto reason : all_close_reasons) CHECK(close_reason_name(reason) != "unknown");
    CHECK(close_reason_name(CloseReason::client_quit) == "client_quit");
    CHECK(phase_name(Phase::finishing_upstream) == "finishing_upstream");
}

}  // namespace tether::session::test

namespace tether::session::test {

TEST_CASE("session: client gone mid-authentication: tether answers for it and leaves cleanly") {
    SUBCASE("the server's OK arrives: COM_QUIT, then close") {
        Driver d;
        d.connect();
        d.upstream(greeting_bytes());
        d.client(login_bytes());
        REQUIRE(d.session().phase() == Phase::authenticating);
        d.clear_output();
        d.client_closed();
        CHECK(d.session().phase() == Phase::finishing_upstream);
        CHECK(d.session().close_reason() == CloseReason::handshake_failed);
        CHECK(d.to_upstream.empty());  // the real login is already upstream: no reserved one
        d.upstream(Stream(2).ok(codec::status::autocommit).bytes());
        ByteVec quit;
        codec::append_com_quit(quit);
        CHECK(d.to_upstream == quit);
        CHECK(d.to_client.empty());
        CHECK(d.upstream_close_requested);
        CHECK(d.session().phase() == Phase::closed);
    }
    SUBCASE("the server asks to switch plugins: an empty answer at the next sequence id") {
        Driver d;
        d.connect();
        d.upstream(greeting_bytes());
        d.client(login_bytes());
        d.clear_output();
        d.client_closed();
        ByteVec sw{std::byte{0xFE}};
        for (char ch : std::string_view("caching_sha2_password")) sw.push_back(static_cast<std::byte>(ch));
        sw.push_back(std::byte{0});
        sw.resize(sw.size() + 20, std::byte{0x2B});
        sw.push_back(std::byte{0});
        d.upstream(frame(2, sw));
        CHECK(d.to_upstream == frame(3, {}));
        d.upstream(Stream(4).err(1045, "28000", "Access denied").bytes());
        CHECK(d.session().phase() == Phase::closed);
        CHECK(d.session().close_reason() == CloseReason::handshake_failed);
    }
}

TEST_CASE("session: client gone while the owner decides: the reserved login, not the client's") {
    Driver d;
    d.auto_admit = false;
    d.connect();
    d.upstream(greeting_bytes());
    d.client(login_bytes());
    REQUIRE(d.session().phase() == Phase::awaiting_admission);
    d.clear_output();
    d.client_closed();
    CHECK(d.session().phase() == Phase::finishing_upstream);
    check_reserved_login(d.to_upstream, "mysql_native_password");
    d.clear_output();
    d.admit(Admission::allow());  // too late: ignored
    CHECK(d.to_upstream.empty());
    CHECK(d.session().phase() == Phase::finishing_upstream);
}

TEST_CASE("session: the login may arrive before the greeting is complete") {
    Driver d;
    d.connect();
    const ByteVec greeting = greeting_bytes();
    d.upstream(codec::Bytes(greeting).first(10));
    const ByteVec login = login_bytes();
    d.client(login);  // early: held until the greeting is relayed
    CHECK(d.to_upstream.empty());
    CHECK_FALSE(d.saw<LoginReceived>());
    d.upstream(codec::Bytes(greeting).subspan(10));
    CHECK(d.saw<GreetingReceived>());
    CHECK(d.saw<LoginReceived>());
    CHECK(d.to_upstream == login);
    CHECK(d.session().phase() == Phase::authenticating);
}

}  // namespace tether::session::test

namespace tether::session::test {

TEST_CASE("session: bytes sent behind the login are not kept once logged in") {
    for (std::size_t size : {std::size_t{4096}, std::size_t{1536 * 1024}}) {  // under and over the 1 MiB it follows
        CAPTURE(size);
        Driver d;
        d.connect();
        d.upstream(greeting_bytes());
        d.client(login_bytes());
        REQUIRE(d.session().phase() == Phase::authenticating);
        d.clear_output();
        const ByteVec query = com_query("SELECT '" + std::string(size, 'x') + "'");
        for (std::size_t at = 0; at < query.size(); at += 64 * 1024) {  // as the I/O layer reads it
            d.client(codec::Bytes(query).subspan(at, std::min<std::size_t>(64 * 1024, query.size() - at)));
        }
        CHECK(d.to_upstream == query);  // forwarded as it came
        d.upstream(Stream(2).ok(codec::status::autocommit).bytes());
        CHECK(d.saw<Authenticated>());
        CHECK(d.session().buffered_bytes() == 0);
        if (size > 1024 * 1024) {
            CHECK(d.session().phase() == Phase::relaying);  // too much to follow: relayed untracked
        } else {
            CHECK(d.session().phase() == Phase::command);
            CHECK(d.session().command_in_flight());
        }
    }
}

}  // namespace tether::session::test

namespace tether::session::test {

TEST_CASE("session: a login over 256 KiB gets an ERR naming the limit, and the server side is finished") {
    for (std::uint8_t login_seq : {std::uint8_t{1}, std::uint8_t{2}}) {
        CAPTURE(static_cast<int>(login_seq));
        Driver d;
        d.connect();
        d.upstream(greeting_bytes());
        d.clear_output();
        // Judged by the header: the first 64 KiB of a 300 KiB login are enough.
        auto login = test_login(modern_caps, "app", "tether_test", {{"big", std::string(300 * 1024, 'x')}});
        const ByteVec packet = frame(login_seq, codec::encode_login(login));
        d.client(codec::Bytes(packet).first(64 * 1024));
        const auto err = single_err(d.to_client);
        CHECK(err.sequence_id == login_seq + 1);
        CHECK(err.code == 1043);
        CHECK(err.sql_state == "08S01");
        CHECK(err.message.find("login packet too large") != std::string::npos);
        CHECK(err.message.find("262144") != std::string::npos);
        CHECK(d.client_close_requested);
        CHECK(d.client_drain_requested);  // the client is still sending: no reset over its ERR
        CHECK(d.session().close_reason() == CloseReason::handshake_failed);
        CHECK_FALSE(d.saw<LoginReceived>());
        CHECK(d.session().phase() == Phase::finishing_upstream);
        check_reserved_login(d.to_upstream, "mysql_native_password");
        d.clear_output();
        d.client(codec::Bytes(packet).subspan(64 * 1024));  // the rest is dropped
        CHECK(d.to_upstream.empty());
        CHECK(d.to_client.empty());
        d.upstream(err_1045(2));
        CHECK(d.session().phase() == Phase::closed);
        CHECK(d.session().close_reason() == CloseReason::handshake_failed);
    }
}

TEST_CASE("session: more than 256 KiB before the greeting gets an ERR as the first packet") {
    Driver d;
    d.connect();
    d.client(ByteVec(300 * 1024, std::byte{0x41}));
    const auto err = single_err(d.to_client);
    CHECK(err.sequence_id == 0);
    CHECK(err.code == 1043);
    CHECK(d.client_close_requested);
    CHECK(d.client_drain_requested);
    CHECK(d.session().phase() == Phase::finishing_upstream);
    d.upstream(greeting_bytes());
    CHECK(single_err(d.to_client).code == 1043);  // the greeting is not shown to a refused client
    check_reserved_login(d.to_upstream, "mysql_native_password");
}

}  // namespace tether::session::test

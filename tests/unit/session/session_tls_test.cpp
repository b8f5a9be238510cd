// Session over TLS legs: the SSLRequests, the renumbering of the login exchange
// when only one leg is TLS (golden bytes), the modes that require TLS, and the
// finish of a server handshake whose TLS was under way.
#include <doctest/doctest.h>

#include "session_test_support.hpp"
#include "capture.hpp"

using namespace tether;
using namespace tether::session;
using namespace tether::session::test;
namespace cap = tether::codec::cap;

namespace {

SessionConfig tls_config(ClientTls client, UpstreamTls upstream) {
    SessionConfig c = Driver::default_config();
    c.client_tls = client;
    c.upstream_tls = upstream;
    return c;
}

// The 32-byte SSLRequest a client sends at sequence id 1 before its TLS handshake.
ByteVec ssl_request_bytes(codec::Capabilities caps = modern_caps) {
    codec::SslRequest r;
    r.capabilities = caps | cap::ssl;
    r.max_packet_size = 16 * 1024 * 1024;
    r.character_set = 45;
    return frame(1, codec::encode_ssl_request(r));
}

// The login a TLS client sends inside TLS: CLIENT_SSL set, sequence id 2.
ByteVec tls_login_bytes(std::string user = "app") {
    return frame(2, codec::encode_login(test_login(modern_caps | cap::ssl, std::move(user), "tether_test",
                                                   {{"program_name", "billing"}})));
}

std::uint8_t seq_of(const ByteVec& bytes, std::size_t at = 0) { return std::to_integer<std::uint8_t>(bytes.at(at + 3)); }

}  // namespace

TEST_CASE("tls: the greeting offers CLIENT_SSL only when the client leg has TLS") {
    for (auto mode : {ClientTls::disabled, ClientTls::preferred, ClientTls::required}) {
        Driver d(tls_config(mode, UpstreamTls::disabled));
        d.connect();
        d.upstream(greeting_bytes(server_caps & ~cap::ssl));  // a server without TLS: the legs are apart
        auto shown = codec::decode_greeting(single_packet(d.to_client).payload);
        REQUIRE(shown.ok());
        CHECK(((shown.value.capabilities & cap::ssl) != 0) == (mode != ClientTls::disabled));
    }
}

TEST_CASE("tls: a client's SSLRequest hands the bytes after it to TLS, and its login comes at sequence id 2") {
    Driver d(tls_config(ClientTls::preferred, UpstreamTls::disabled));
    d.connect();
    d.upstream(greeting_bytes());
    d.clear_output();
    // The SSLRequest and the first bytes of a ClientHello in one read.
    ByteVec chunk = ssl_request_bytes();
    const ByteVec hello = {std::byte{0x16}, std::byte{0x03}, std::byte{0x01}, std::byte{0x02}};
    chunk.insert(chunk.end(), hello.begin(), hello.end());
    d.client(chunk);
    CHECK(d.client_tls_started);
    CHECK(d.client_tls_bytes == hello);
    CHECK(d.to_client.empty());
    CHECK(d.to_upstream.empty());
    CHECK(d.session().phase() == Phase::awaiting_login);
    CHECK(d.session().client_tls());

    // Inside TLS: the login, attributed as ever; to the plaintext server leg it
    // goes at sequence id 1 without CLIENT_SSL.
    const ByteVec login = tls_login_bytes();
    d.client(login);
    REQUIRE(d.saw<LoginReceived>());
    REQUIRE(d.session().login() != nullptr);
    CHECK(d.session().login()->user == "app");
    CHECK(*d.session().login()->attribute("program_name") == "billing");
    CHECK(d.session().phase() == Phase::authenticating);
    CHECK_FALSE(d.upstream_tls_started);
    auto sent = single_packet(d.to_upstream);
    CHECK(sent.first_sequence_id == 1);
    auto forwarded = codec::decode_login(sent.payload);
    REQUIRE(forwarded.ok());
    CHECK((forwarded.value.capabilities & cap::ssl) == 0);
    // Only those two bytes changed.
    ByteVec expected = login;
    expected[3] = std::byte{1};
    expected[5] &= ~std::byte{0x08};
    CHECK(d.to_upstream == expected);
}

TEST_CASE("tls: client leg TLS, server leg plaintext: the auth exchange is renumbered both ways (golden bytes)") {
    Driver d(tls_config(ClientTls::required, UpstreamTls::disabled));
    d.connect();
    d.upstream(greeting_bytes(server_caps & ~cap::ssl));
    d.client(ssl_request_bytes());
    d.client(tls_login_bytes());
    d.clear_output();
    // The server switches plugin at its sequence id 2: the client sees 3.
    const ByteVec server_switch = {std::byte{0x07}, std::byte{0}, std::byte{0}, std::byte{0x02}, std::byte{0xFE},
                                   std::byte{'a'},  std::byte{'b'}, std::byte{0}, std::byte{'x'}, std::byte{'y'},
                                   std::byte{0}};
    d.upstream(server_switch);
    ByteVec to_client = server_switch;
    to_client[3] = std::byte{0x03};
    CHECK(d.to_client == to_client);
    // The client answers at 4, in two reads split inside the header: the server gets 3.
    const ByteVec answer = {std::byte{0x02}, std::byte{0}, std::byte{0}, std::byte{0x04}, std::byte{0xAA}, std::byte{0xBB}};
    d.client(codec::Bytes(answer).first(2));
    d.client(codec::Bytes(answer).subspan(2));
    ByteVec to_server = answer;
    to_server[3] = std::byte{0x03};
    CHECK(d.to_upstream == to_server);
    // The OK at the server's 4 reaches the client as 5, and the session is open.
    d.clear_output();
    d.upstream(Stream(4).ok(codec::status::autocommit).bytes());
    CHECK(seq_of(d.to_client) == 5);
    CHECK(d.session().phase() == Phase::command);
    // Commands restart at 0 on both legs: forwarded untouched.
    d.clear_output();
    const ByteVec ping = {std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0x0E}};
    d.client(ping);
    CHECK(d.to_upstream == ping);
}

TEST_CASE("tls: server leg TLS, client leg plaintext: tether's SSLRequest carries the login's capabilities") {
    Driver d(tls_config(ClientTls::disabled, UpstreamTls::preferred));
    d.connect();
    d.upstream(greeting_bytes());  // offers TLS
    d.clear_output();
    const ByteVec login = login_bytes();
    d.client(login);
    REQUIRE(d.saw<LoginReceived>());
    CHECK(d.upstream_tls_started);
    CHECK(d.session().phase() == Phase::securing_upstream);
    CHECK(d.session().upstream_tls());
    auto request_packet = single_packet(d.to_upstream);
    CHECK(request_packet.first_sequence_id == 1);
    auto request = codec::decode_ssl_request(request_packet.payload);
    REQUIRE(request.ok());
    auto client_login = codec::decode_login(single_packet(login).payload);
    REQUIRE(client_login.ok());
    CHECK(request.value.capabilities == (client_login.value.capabilities | cap::ssl));
    CHECK(request.value.max_packet_size == client_login.value.max_packet_size);
    CHECK(request.value.character_set == client_login.value.character_set);

    // Bytes the client pipelines meanwhile wait.
    d.clear_output();
    d.upstream_tls_ready();
    CHECK(d.session().phase() == Phase::authenticating);
    ByteVec expected = login;
    expected[3] = std::byte{2};
    expected[5] |= std::byte{0x08};
    CHECK(d.to_upstream == expected);
    // The server's OK at 3 is the client's 2.
    d.clear_output();
    d.upstream(Stream(3).ok(codec::status::autocommit).bytes());
    CHECK(seq_of(d.to_client) == 2);
    CHECK(d.session().phase() == Phase::command);
}

TEST_CASE("tls: both legs TLS: nothing is renumbered") {
    Driver d(tls_config(ClientTls::preferred, UpstreamTls::required));
    d.connect();
    d.upstream(greeting_bytes());
    d.client(ssl_request_bytes());
    d.clear_output();
    const ByteVec login = tls_login_bytes();
    d.client(login);
    d.clear_output();
    d.upstream_tls_ready();
    CHECK(d.to_upstream == login);
    d.clear_output();
    const ByteVec ok = Stream(3).ok(codec::status::autocommit).bytes();
    d.upstream(ok);
    CHECK(d.to_client == ok);
}

TEST_CASE("tls: --client-tls required: a plaintext login gets ERR 3159 and the server a refused login") {
    Driver d(tls_config(ClientTls::required, UpstreamTls::disabled));
    d.connect();
    d.upstream(greeting_bytes());
    d.clear_output();
    d.client(login_bytes());
    const auto err = single_err(d.to_client);
    CHECK(err.sequence_id == 2);
    CHECK(err.code == 3159);
    CHECK(err.message.find("insecure transport") != std::string::npos);
    CHECK_FALSE(d.saw<LoginReceived>());
    CHECK(d.client_drain_requested);
    CHECK(d.session().phase() == Phase::finishing_upstream);
    auto reserved = codec::decode_login(single_packet(d.to_upstream).payload);
    REQUIRE(reserved.ok());
    CHECK(reserved.value.user == Driver::default_config().reserved_user);
}

TEST_CASE("tls: --upstream-tls required and a server that offers no TLS: the client is told, the server refused cleanly") {
    Driver d(tls_config(ClientTls::disabled, UpstreamTls::required));
    d.connect();
    d.upstream(greeting_bytes(server_caps & ~cap::ssl));
    d.clear_output();
    d.client(login_bytes());
    const auto err = single_err(d.to_client);
    CHECK(err.sequence_id == 2);
    CHECK(err.code == 2026);
    CHECK(err.message.find("does not offer TLS") != std::string::npos);
    CHECK_FALSE(d.upstream_tls_started);
    CHECK(d.session().phase() == Phase::finishing_upstream);
    auto reserved = single_packet(d.to_upstream);
    CHECK(reserved.first_sequence_id == 1);
}

TEST_CASE("tls: an SSLRequest to a tether without a certificate is refused as before") {
    Driver d(tls_config(ClientTls::disabled, UpstreamTls::disabled));
    d.connect();
    d.upstream(greeting_bytes());
    d.clear_output();
    d.client(ssl_request_bytes());
    CHECK_FALSE(d.client_tls_started);
    const auto err = single_err(d.to_client);
    CHECK(err.code == 1043);
    CHECK(err.message.find("does not offer") != std::string::npos);
}

TEST_CASE("tls: the libmysql 8.0.20 SSLRequest fixture starts TLS, and the login behind it is read at sequence id 2") {
    const ByteVec fixture = load_fixture_bytes("seq_libmysql-8.0.20_sslrequest_then_response41-lenenc.hex");
    auto first = codec::decode_packet(fixture);
    REQUIRE(first.ok());
    Driver d(tls_config(ClientTls::preferred, UpstreamTls::disabled));
    d.connect();
    d.upstream(greeting_bytes());
    d.clear_output();
    d.client(codec::Bytes(fixture).first(first.consumed));
    CHECK(d.client_tls_started);
    CHECK(d.client_tls_bytes.empty());
    d.client(codec::Bytes(fixture).subspan(first.consumed));  // what the TLS engine decrypts
    REQUIRE(d.saw<LoginReceived>());
    CHECK(d.session().phase() == Phase::authenticating);
    CHECK(single_packet(d.to_upstream).first_sequence_id == 1);
}

TEST_CASE("tls: a client that leaves while the server leg's TLS is under way: the server gets a refused login after TLS") {
    Driver d(tls_config(ClientTls::disabled, UpstreamTls::preferred));
    d.connect();
    d.upstream(greeting_bytes());
    d.client(login_bytes());
    REQUIRE(d.session().phase() == Phase::securing_upstream);
    d.clear_output();
    d.client_closed();
    CHECK(d.session().phase() == Phase::finishing_upstream);
    CHECK(d.to_upstream.empty());  // nothing may go before TLS is up
    d.upstream_tls_ready();
    auto packet = single_packet(d.to_upstream);
    CHECK(packet.first_sequence_id == 2);
    auto reserved = codec::decode_login(packet.payload);
    REQUIRE(reserved.ok());
    CHECK(reserved.value.user == Driver::default_config().reserved_user);
    CHECK(reserved.value.auth_response.empty());
    // Encoded with the SSLRequest's capabilities, which the server keeps.
    CHECK(reserved.value.capabilities == (modern_caps | cap::ssl));
    CHECK(reserved.value.database == std::optional<std::string>(""));
    d.upstream(Stream(3).err(1045, "28000", "Access denied").bytes());
    CHECK(d.session().phase() == Phase::closed);
}

TEST_CASE("tls: the server leg fails verification: the client gets 2026 naming it, the server a refused login") {
    Driver d(tls_config(ClientTls::disabled, UpstreamTls::required));
    d.connect();
    d.upstream(greeting_bytes());
    d.client(login_bytes());
    d.clear_output();
    d.upstream_tls_failed("certificate has expired", true);
    const auto err = single_err(d.to_client);
    CHECK(err.sequence_id == 2);
    CHECK(err.code == 2026);
    CHECK(err.message.find("certificate has expired") != std::string::npos);
    CHECK(d.saw<UpstreamProblem>());
    CHECK(d.session().phase() == Phase::finishing_upstream);
    CHECK(single_packet(d.to_upstream).first_sequence_id == 2);
}

TEST_CASE("tls: a broken server TLS handshake closes the server side without a login") {
    Driver d(tls_config(ClientTls::disabled, UpstreamTls::required));
    d.connect();
    d.upstream(greeting_bytes());
    d.client(login_bytes());
    d.clear_output();
    d.upstream_tls_failed("protocol error", false);
    CHECK(single_err(d.to_client).code == 2026);
    CHECK(d.to_upstream.empty());
    CHECK(d.upstream_close_requested);
    CHECK(d.session().phase() == Phase::closed);
}

TEST_CASE("tls: the handshake timeout covers the server leg's TLS") {
    Driver d(tls_config(ClientTls::disabled, UpstreamTls::preferred));
    d.connect();
    d.upstream(greeting_bytes());
    d.client(login_bytes());
    REQUIRE(d.session().phase() == Phase::securing_upstream);
    d.tick_after(std::chrono::seconds(11));
    CHECK(d.session().close_reason() == CloseReason::client_timeout);
    CHECK(d.session().phase() == Phase::finishing_upstream);
}

namespace {

// A session logged in over a TLS client leg to a plaintext server leg, the login sent.
void tls_client_plain_server(Driver& d, std::string plugin = "caching_sha2_password") {
    d.connect();
    d.upstream(greeting_bytes(server_caps & ~cap::ssl, plugin));
    d.client(ssl_request_bytes());
    d.client(tls_login_bytes());
    REQUIRE(d.session().phase() == Phase::authenticating);
    d.clear_output();
}

}  // namespace

TEST_CASE("tls: a password never crosses the plaintext server leg in clear") {
    SUBCASE("caching_sha2_password full authentication: the client is refused before it sends the password") {
        Driver d(tls_config(ClientTls::preferred, UpstreamTls::disabled));
        tls_client_plain_server(d);
        const ByteVec full_auth = {std::byte{2}, std::byte{0}, std::byte{0}, std::byte{2}, std::byte{0x01}, std::byte{0x04}};
        d.upstream(full_auth);
        const auto err = single_err(d.to_client);
        CHECK(err.sequence_id == 3);  // in place of the server's packet 2, client numbering
        CHECK(err.message.find("full authentication") != std::string::npos);
        CHECK(d.client_drain_requested);
        CHECK(d.session().phase() == Phase::finishing_upstream);
        // The server gets a wrong answer at the sequence id it expects, and ends the login itself.
        auto answer = single_packet(d.to_upstream);
        CHECK(answer.first_sequence_id == 3);
        CHECK(answer.payload.size() <= 1);
        d.upstream(Stream(4).err(1045, "28000", "Access denied").bytes());
        CHECK(d.session().phase() == Phase::closed);
    }
    SUBCASE("an AuthSwitchRequest to mysql_clear_password is not relayed") {
        Driver d(tls_config(ClientTls::preferred, UpstreamTls::disabled));
        tls_client_plain_server(d);
        d.upstream(Stream(2).packet(bytes_of(std::string_view("\xFEmysql_clear_password\0", 22))).bytes());
        const auto err = single_err(d.to_client);
        CHECK(err.message.find("mysql_clear_password") != std::string::npos);
        CHECK(d.session().phase() == Phase::finishing_upstream);
    }
    SUBCASE("fast authentication needs no password and passes") {
        Driver d(tls_config(ClientTls::preferred, UpstreamTls::disabled));
        tls_client_plain_server(d);
        const ByteVec fast = {std::byte{2}, std::byte{0}, std::byte{0}, std::byte{2}, std::byte{0x01}, std::byte{0x03}};
        d.upstream(fast);
        CHECK(d.to_client.size() == fast.size());
        CHECK(seq_of(d.to_client) == 3);
        d.upstream(Stream(3).ok(codec::status::autocommit).bytes());
        CHECK(d.session().phase() == Phase::command);
    }
    SUBCASE("with the server leg TLS too, full authentication is relayed") {
        Driver d(tls_config(ClientTls::preferred, UpstreamTls::preferred));
        d.connect();
        d.upstream(greeting_bytes(server_caps, "caching_sha2_password"));
        d.client(ssl_request_bytes());
        d.client(tls_login_bytes());
        d.upstream_tls_ready();
        d.clear_output();
        const ByteVec full_auth = {std::byte{2}, std::byte{0}, std::byte{0}, std::byte{3}, std::byte{0x01}, std::byte{0x04}};
        d.upstream(full_auth);
        CHECK(d.to_client == full_auth);
    }
    SUBCASE("a plaintext client encrypts with the server's key itself: relayed as ever") {
        Driver d(tls_config(ClientTls::preferred, UpstreamTls::disabled));
        d.connect();
        d.upstream(greeting_bytes(server_caps & ~cap::ssl, "caching_sha2_password"));
        d.client(login_bytes());
        d.clear_output();
        const ByteVec full_auth = {std::byte{2}, std::byte{0}, std::byte{0}, std::byte{2}, std::byte{0x01}, std::byte{0x04}};
        d.upstream(full_auth);
        CHECK(d.to_client == full_auth);
    }
}

TEST_CASE("tls: a client that leaves before its login: the reserved login goes inside TLS when the server leg has it") {
    Driver d(tls_config(ClientTls::disabled, UpstreamTls::preferred));
    d.connect();
    d.upstream(greeting_bytes());  // offers TLS
    d.clear_output();
    d.client_closed();
    REQUIRE(d.session().phase() == Phase::finishing_upstream);
    CHECK(d.upstream_tls_started);
    auto request_packet = single_packet(d.to_upstream);
    CHECK(request_packet.first_sequence_id == 1);
    auto request = codec::decode_ssl_request(request_packet.payload);
    REQUIRE(request.ok());
    d.clear_output();
    d.upstream_tls_ready();
    auto login_packet = single_packet(d.to_upstream);
    CHECK(login_packet.first_sequence_id == 2);
    auto reserved = codec::decode_login(login_packet.payload);
    REQUIRE(reserved.ok());
    CHECK(reserved.value.user == Driver::default_config().reserved_user);
    CHECK(reserved.value.capabilities == request.value.capabilities);
    d.upstream(Stream(3).err(1045, "28000", "Access denied").bytes());
    CHECK(d.session().phase() == Phase::closed);
}

TEST_CASE("tls: the reserved login stays plaintext when the server offers no TLS, or the server leg is off") {
    for (auto [mode, caps] : {std::pair{UpstreamTls::preferred, server_caps & ~cap::ssl}, std::pair{UpstreamTls::disabled, server_caps}}) {
        Driver d(tls_config(ClientTls::disabled, mode));
        d.connect();
        d.upstream(greeting_bytes(caps));
        d.clear_output();
        d.client_closed();
        CHECK_FALSE(d.upstream_tls_started);
        CHECK(single_packet(d.to_upstream).first_sequence_id == 1);
    }
}

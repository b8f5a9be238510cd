// The monitor's login beyond the plain case: AuthSwitchRequest, caching_sha2_password
// (fast auth, full auth inside TLS, the RSA key exchange outside it), TLS, and
// the reserved-user login that ends a handshake tether gives up.
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <fstream>
#include <sstream>

#include "../support/hex.hpp"
#include "recorded_session.hpp"
#include "tether/codec/capabilities.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/codec/packet.hpp"
#include "tether/codec/wire.hpp"
#include "tether/monitor/auth_scramble.hpp"
#include "tether/monitor/monitor_session.hpp"

namespace tether::monitor {

namespace {

using tether::test::from_hex;

// A tests/fixtures/mysql file's bytes (the comments dropped).
std::vector<std::byte> mysql_fixture(const std::string& name) {
    const std::string dir = tether::test::dir_from_env("TETHER_FIXTURES", TETHER_FIXTURES_DEFAULT);
    std::ifstream in(dir + "/" + name);
    REQUIRE(in);
    std::string hex;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] != '#') hex += line + " ";
    }
    return from_hex(hex);
}

MonitorSettings settings(TlsWish tls = TlsWish::disabled) {
    MonitorSettings s;
    s.user = "monitor";
    s.password = Secret("monitorpw");
    s.tls = tls;
    return s;
}

MonitorOutput feed(MonitorSession& session, codec::Bytes bytes) {
    MonitorOutput out;
    session.on_server_bytes(bytes, out);
    return out;
}

std::vector<std::byte> packet(std::uint8_t seq, std::vector<std::byte> payload) {
    std::vector<std::byte> out;
    codec::append_packet(out, seq, payload);
    return out;
}

struct Sent {
    std::uint8_t seq = 0;
    std::vector<std::byte> payload;
};
Sent only_packet(const std::vector<std::byte>& bytes) {
    const auto p = codec::decode_packet(bytes);
    REQUIRE(p.ok());
    REQUIRE(p.consumed == bytes.size());
    return {p.value.header.sequence_id, {p.value.payload.begin(), p.value.payload.end()}};
}

codec::Login login_of(const std::vector<std::byte>& bytes, std::uint8_t expected_seq) {
    const Sent sent = only_packet(bytes);
    CHECK(sent.seq == expected_seq);
    const auto login = codec::decode_login(sent.payload);
    REQUIRE(login.ok());
    return login.value;
}

std::vector<std::byte> text_bytes(std::string_view s) { return {codec::as_bytes(s).begin(), codec::as_bytes(s).end()}; }

const std::vector<std::byte> ok_payload = from_hex("00 00 00 02 00 00 00");

// MySQL 8.0.33's greeting (caching_sha2_password, CLIENT_SSL offered) and its nonce.
const char* const mysql8_greeting = "greeting_mysql-8.0.33.hex";
const std::vector<std::byte> mysql8_nonce = from_hex("4f7b320426385b0c 015a0607574f7e6876541630");

}  // namespace

TEST_CASE("AuthSwitchRequest to mysql_native_password: the new nonce's scramble, at the next sequence id") {
    const auto chunks = test::load_session("tether-monitor_mariadb-10.11_session.hex");
    MonitorSession session(settings());
    auto out = feed(session, test::nth(chunks, true, 0).bytes);
    login_of(out.to_server, 1);
    std::vector<std::byte> request = text_bytes("\xfemysql_native_password");
    request.push_back(std::byte{0});
    for (char c : std::string("ABCDEFGHIJKLMNOPQRST")) request.push_back(static_cast<std::byte>(c));
    request.push_back(std::byte{0});
    out = feed(session, packet(2, request));
    const Sent answer = only_packet(out.to_server);
    CHECK(answer.seq == 3);
    CHECK(answer.payload == from_hex("8f11bcde4a55786d927cc5794401e8c2c2aa5653"));  // hashlib's, for that nonce
    out = feed(session, packet(4, ok_payload));
    CHECK(out.logged_in);
}

TEST_CASE("AuthSwitchRequest to a plugin tether cannot speak: a wrong empty answer, then the failure named") {
    const auto chunks = test::load_session("tether-monitor_mariadb-10.11_session.hex");
    MonitorSession session(settings());
    feed(session, test::nth(chunks, true, 0).bytes);
    std::vector<std::byte> request = text_bytes("\xfe" "client_ed25519");
    request.push_back(std::byte{0});
    auto out = feed(session, packet(2, request));
    const Sent answer = only_packet(out.to_server);
    CHECK(answer.seq == 3);
    CHECK(answer.payload.empty());
    CHECK_FALSE(out.failure);  // the handshake is finished by the server's ERR, not cut
    out = feed(session, packet(4, from_hex("ff 15 04 23 32 38 30 30 30 41")));
    REQUIRE(out.failure);
    CHECK(out.failure->kind == MonitorFailure::Kind::login);
    CHECK(out.failure->message.find("client_ed25519") != std::string::npos);
}

TEST_CASE("caching_sha2_password: the fast-path scramble in the login, fast auth success, OK") {
    MonitorSession session(settings());
    auto out = feed(session, mysql_fixture(mysql8_greeting));
    const codec::Login login = login_of(out.to_server, 1);
    CHECK(login.auth_plugin_name == std::optional<std::string>("caching_sha2_password"));
    CHECK(login.auth_response == caching_sha2_scramble("monitorpw", mysql8_nonce));
    CHECK((login.capabilities & codec::cap::client_mysql) != 0);  // MySQL: CLIENT_MYSQL mirrored
    out = feed(session, packet(2, from_hex("01 03")));
    CHECK(out.to_server.empty());
    out = feed(session, packet(3, ok_payload));
    CHECK(out.logged_in);
}

TEST_CASE("caching_sha2_password full auth inside TLS: SSLRequest, login at seq 2, the password and a NUL") {
    MonitorSession session(settings(TlsWish::preferred));
    auto out = feed(session, mysql_fixture(mysql8_greeting));
    CHECK(out.start_tls);
    const Sent ssl = only_packet(out.to_server);
    CHECK(ssl.seq == 1);
    CHECK(codec::is_ssl_request(ssl.payload));
    out = {};
    session.on_tls_ready(out);
    const codec::Login login = login_of(out.to_server, 2);
    CHECK((login.capabilities & codec::cap::ssl) != 0);
    CHECK(session.tls_negotiated());
    out = feed(session, packet(3, from_hex("01 04")));
    const Sent answer = only_packet(out.to_server);
    CHECK(answer.seq == 4);
    CHECK(answer.payload == text_bytes(std::string_view("monitorpw\0", 10)));
    out = feed(session, packet(5, ok_payload));
    CHECK(out.logged_in);
}

TEST_CASE("caching_sha2_password full auth on a plaintext leg: asks for the RSA key, sends the password encrypted") {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    REQUIRE(key != nullptr);
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PUBKEY(bio, key) == 1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    const std::string pem(data, static_cast<std::size_t>(n));
    BIO_free(bio);

    MonitorSession session(settings());
    feed(session, mysql_fixture(mysql8_greeting));
    auto out = feed(session, packet(2, from_hex("01 04")));
    Sent sent = only_packet(out.to_server);
    CHECK(sent.seq == 3);
    CHECK(sent.payload == from_hex("02"));  // "request public key"
    std::vector<std::byte> key_packet = {std::byte{0x01}};
    for (char c : pem) key_packet.push_back(static_cast<std::byte>(c));
    out = feed(session, packet(4, key_packet));
    sent = only_packet(out.to_server);
    CHECK(sent.seq == 5);
    REQUIRE(sent.payload.size() == 256);
    // What the server does with it: decrypt, XOR with the nonce, find the password and a NUL.
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
    REQUIRE(EVP_PKEY_decrypt_init(ctx) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1);
    std::vector<unsigned char> clear(256);
    std::size_t length = clear.size();
    REQUIRE(EVP_PKEY_decrypt(ctx, clear.data(), &length, reinterpret_cast<const unsigned char*>(sent.payload.data()),
                             sent.payload.size()) == 1);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(key);
    clear.resize(length);
    std::string password;
    for (std::size_t i = 0; i < clear.size(); ++i) {
        password += static_cast<char>(clear[i] ^ std::to_integer<unsigned char>(mysql8_nonce[i % mysql8_nonce.size()]));
    }
    CHECK(password == std::string("monitorpw\0", 10));
    out = feed(session, packet(6, ok_payload));
    CHECK(out.logged_in);
}

TEST_CASE("TLS required and not offered: a refused login for the reserved user, no secret, then the failure") {
    const auto chunks = test::load_session("tether-monitor_mariadb-10.11_session.hex");
    auto greeting = test::nth(chunks, true, 0).bytes;
    // Clear CLIENT_SSL (bit 11: bit 3 of the second lower capability byte) in the recorded greeting.
    const std::size_t lower_caps_high = 4 + 1 + std::string_view("5.5.5-10.11.19-MariaDB-0+deb12u1").size() + 1 + 4 + 8 + 1 + 1;
    REQUIRE((std::to_integer<int>(greeting[lower_caps_high]) & 0x08) != 0);
    greeting[lower_caps_high] &= std::byte{0xf7};
    MonitorSession session(settings(TlsWish::required));
    auto out = feed(session, greeting);
    CHECK_FALSE(out.start_tls);
    CHECK_FALSE(out.failure);
    const codec::Login login = login_of(out.to_server, 1);
    CHECK(login.user == "tether_abort_login");
    CHECK(login.auth_response == std::vector<std::byte>(20, std::byte{0}));
    out = feed(session, packet(2, from_hex("ff 15 04 23 32 38 30 30 30 41 63 63 65 73 73")));
    REQUIRE(out.failure);
    CHECK(out.failure->kind == MonitorFailure::Kind::tls);
    CHECK(out.failure->message.find("does not offer TLS") != std::string::npos);
    CHECK(out.close);
}

TEST_CASE("an untrusted server certificate: the login is the reserved user's, inside that TLS, seq 2") {
    MonitorSession session(settings(TlsWish::required));
    auto out = feed(session, mysql_fixture(mysql8_greeting));
    REQUIRE(out.start_tls);
    const auto ssl = codec::decode_ssl_request(only_packet(out.to_server).payload);
    REQUIRE(ssl.ok());
    out = {};
    session.on_tls_failed("unknown_ca: unable to get local issuer certificate", true, out);
    CHECK_FALSE(out.failure);
    const codec::Login login = login_of(out.to_server, 2);
    CHECK(login.user == "tether_abort_login");
    // The server reads the login after TLS by the SSLRequest's capabilities
    // (MariaDB answers 1043 "Bad handshake" to a login that drops one of them).
    CHECK(login.capabilities == ssl.value.capabilities);
    CHECK(login.auth_response != caching_sha2_scramble("monitorpw", mysql8_nonce));
    // MySQL 8 asks an unknown user for a full auth; the answer carries no password either.
    out = feed(session, packet(3, from_hex("01 04")));
    CHECK(only_packet(out.to_server).payload == from_hex("00"));
    out = feed(session, packet(5, from_hex("ff 15 04 23 32 38 30 30 30 41")));
    REQUIRE(out.failure);
    CHECK(out.failure->kind == MonitorFailure::Kind::tls);
    CHECK(out.failure->message.find("unknown_ca") != std::string::npos);
}

TEST_CASE("a TLS handshake that failed outright: the session ends at once") {
    MonitorSession session(settings(TlsWish::preferred));
    feed(session, mysql_fixture(mysql8_greeting));
    MonitorOutput out;
    session.on_tls_failed("no shared cipher", false, out);
    REQUIRE(out.failure);
    CHECK(out.failure->kind == MonitorFailure::Kind::tls);
    CHECK(out.to_server.empty());
}

}  // namespace tether::monitor

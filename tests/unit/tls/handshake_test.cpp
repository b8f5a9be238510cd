// Handshakes between a server and a client Engine in memory: versions,
// ciphers, and peers that are not TLS or stop half way.
#include <doctest/doctest.h>

#include <openssl/ssl.h>

#include <array>
#include <string_view>

#include "engine_pair.hpp"
#include "test_certs.hpp"

using namespace tether;
using tls::Engine;
using tls::FailureReason;

namespace {
std::span<const std::uint8_t> bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
}  // namespace

TEST_CASE("TLS 1.3 is what two current engines agree on") {
    test::EnginePair pair(test::client_context(tls::ClientMode::verify_identity), test::server_context("tether"));
    CHECK(pair.client->version().empty());
    REQUIRE(pair.handshake());
    CHECK(pair.client->version() == "TLSv1.3");
    CHECK(pair.server->version() == "TLSv1.3");
    CHECK_FALSE(pair.client->cipher().empty());
    CHECK(pair.client->cipher() == pair.server->cipher());
    CHECK_FALSE(pair.client->resumed());
}

TEST_CASE("TLS 1.2 with the server's cipher list") {
    auto client = test::client_context(tls::ClientMode::verify_identity);
    SSL_CTX_set_max_proto_version(client->native(), TLS1_2_VERSION);  // an older client
    auto options = test::server_options(test::cert_file("tether"), test::key_file("tether"));
    options.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    auto server = tls::ServerContext::load(options);
    REQUIRE(server.has_value());
    test::EnginePair pair(client, server.value());
    REQUIRE(pair.handshake());
    CHECK(pair.client->version() == "TLSv1.2");
    CHECK(pair.server->cipher() == "ECDHE-ECDSA-AES128-GCM-SHA256");
}

TEST_CASE("a handshake fed one byte at a time completes") {
    test::EnginePair pair(test::client_context(tls::ClientMode::verify_identity), test::server_context("tether"));
    std::array<std::uint8_t, 1> one{};
    for (int round = 0; round < 10000 && pair.server->state() == Engine::State::handshaking; ++round) {
        pair.client->handshake();
        while (pair.client->take_ciphertext(one) == 1) {
            pair.server->feed(one);
            pair.server->handshake();
        }
        while (pair.server->take_ciphertext(one) == 1) {
            pair.client->feed(one);
            pair.client->handshake();
        }
    }
    CHECK(pair.server->state() == Engine::State::open);
    CHECK(pair.client->state() == Engine::State::open);
}

TEST_CASE("TLS 1.3 with the server's ciphersuites") {
    auto options = test::server_options(test::cert_file("tether"), test::key_file("tether"));
    options.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
    auto server = tls::ServerContext::load(options);
    REQUIRE(server.has_value());
    test::EnginePair pair(test::client_context(tls::ClientMode::verify_identity), server.value());
    REQUIRE(pair.handshake());
    CHECK(pair.client->cipher() == "TLS_CHACHA20_POLY1305_SHA256");
}

TEST_CASE("a server requiring TLS 1.3 and a client capped at 1.2 share no version") {
    auto client = test::client_context(tls::ClientMode::required);
    SSL_CTX_set_max_proto_version(client->native(), TLS1_2_VERSION);
    test::EnginePair pair(client, test::server_context("tether", tls::ProtocolVersion::tls1_3));
    CHECK_FALSE(pair.handshake());
    CHECK(pair.server->failure().reason == FailureReason::no_shared_version);
    CHECK(pair.client->failure().reason == FailureReason::no_shared_version);
}

TEST_CASE("a plaintext MySQL login instead of a ClientHello is not_tls, at once") {
    auto server = Engine::server(test::server_context("tether"));
    // The start of a HandshakeResponse41: length 0x55, seq 1, capabilities...
    const std::array<std::uint8_t, 12> login{0x55, 0x00, 0x00, 0x01, 0x85, 0xa6, 0xff, 0x01, 0x00, 0x00, 0x00, 0x01};
    server->feed(login);
    CHECK(server->handshake() == Engine::State::failed);
    CHECK(server->failure().reason == FailureReason::not_tls);
    CHECK(tls::format_failure_reason(server->failure().reason) == "not_tls");
    // Nothing else works any more, and nothing crashes.
    std::array<std::uint8_t, 16> out{};
    CHECK(server->read(out) == 0);
    CHECK(server->write(out) == 0);
    server->shutdown();
}

TEST_CASE("four plaintext bytes are enough to tell: not_tls before a record header is complete") {
    // OpenSSL alone would wait for the fifth byte of a record header, and a
    // client that sends a packet header and stalls would hold the handshake.
    auto server = Engine::server(test::server_context("tether"));
    const std::array<std::uint8_t, 4> packet_header{0x55, 0x00, 0x00, 0x01};
    server->feed(packet_header);
    CHECK(server->handshake() == Engine::State::failed);
    CHECK(server->failure().reason == FailureReason::not_tls);
}

TEST_CASE("an HTTP request instead of a ClientHello is not_tls") {
    auto server = Engine::server(test::server_context("tether"));
    server->feed(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(server->handshake() == Engine::State::failed);
    CHECK(server->failure().reason == FailureReason::not_tls);
}

TEST_CASE("garbage behind a handshake record header fails cleanly") {
    auto server = Engine::server(test::server_context("tether"));
    std::array<std::uint8_t, 64> garbage{0x16, 0x03, 0x01, 0x00, 0x3b};  // a record of 59 bytes of zeros
    server->feed(garbage);
    CHECK(server->handshake() == Engine::State::failed);
    CHECK(server->failure().reason == FailureReason::protocol);
    CHECK_FALSE(server->failure().detail.empty());
}

TEST_CASE("a client that stops mid handshake: peer_closed at end of stream") {
    auto client = Engine::client(test::client_context(tls::ClientMode::required));
    auto server = Engine::server(test::server_context("tether"));
    client->handshake();
    std::array<std::uint8_t, 4096> hello{};
    const std::size_t n = client->take_ciphertext(hello);
    REQUIRE(n > 20);
    server->feed(std::span<const std::uint8_t>(hello.data(), n / 2));  // half a ClientHello
    CHECK(server->handshake() == Engine::State::handshaking);
    server->feed_eof();
    CHECK(server->handshake() == Engine::State::failed);
    CHECK(server->failure().reason == FailureReason::peer_closed);
}

TEST_CASE("a server that stops mid handshake: the client sees peer_closed") {
    auto client = Engine::client(test::client_context(tls::ClientMode::verify_identity));
    auto server = Engine::server(test::server_context("tether"));
    client->handshake();
    test::transfer(*client, *server);
    server->handshake();
    std::array<std::uint8_t, 64> part{};
    const std::size_t n = server->take_ciphertext(part);  // the start of ServerHello only
    client->feed(std::span<const std::uint8_t>(part.data(), n));
    CHECK(client->handshake() == Engine::State::handshaking);
    client->feed_eof();
    CHECK(client->handshake() == Engine::State::failed);
    CHECK(client->failure().reason == FailureReason::peer_closed);
}

// Data through an open session: both ways, in partial writes under a
// ciphertext limit (backpressure), and the ends: close_notify or a bare end
// of stream.
#include <doctest/doctest.h>

#include <openssl/ssl.h>

#include <array>
#include <string>

#include "engine_pair.hpp"
#include "test_certs.hpp"

using namespace tether;
using tls::Engine;

namespace {
std::span<const std::uint8_t> bytes(const std::string& text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::shared_ptr<tls::ClientContext> client_at_most(int version) {
    auto client = test::client_context(tls::ClientMode::verify_identity);
    SSL_CTX_set_max_proto_version(client->native(), version);
    return client;
}

// Sends `data` from one engine to the other through a ciphertext limit,
// the way io will: write what the engine takes, drain to the socket, repeat.
std::string send_through(Engine& from, Engine& to, const std::string& data, std::size_t& writes) {
    std::string received;
    std::size_t offset = 0;
    writes = 0;
    while (offset < data.size()) {
        const std::size_t taken = from.write(bytes(data).subspan(offset));
        REQUIRE(from.pending_ciphertext() > 0);  // the limit stops it only with bytes waiting
        offset += taken;
        ++writes;
        test::transfer(from, to);
        received += test::EnginePair::read_all(to);
    }
    return received;
}
}  // namespace

TEST_CASE("data both ways, TLS 1.3 and 1.2") {
    for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        CAPTURE(version);
        test::EnginePair pair(client_at_most(version), test::server_context("tether"));
        REQUIRE(pair.handshake());
        const std::string query = "\x21\x00\x00\x00\x03SELECT * FROM t WHERE id = 42";
        CHECK(pair.client->write(bytes(query)) == query.size());
        test::transfer(*pair.client, *pair.server);
        CHECK(test::EnginePair::read_all(*pair.server) == query);

        const std::string reply(3000, 'r');
        CHECK(pair.server->write(bytes(reply)) == reply.size());
        test::transfer(*pair.server, *pair.client);
        CHECK(test::EnginePair::read_all(*pair.client) == reply);
        // Nothing more to read is 0, not an error.
        std::array<std::uint8_t, 16> out{};
        CHECK(pair.client->read(out) == 0);
        CHECK(pair.client->state() == Engine::State::open);
    }
}

TEST_CASE("a large write is taken in parts while ciphertext waits, and arrives whole") {
    test::EnginePair pair(test::client_context(tls::ClientMode::verify_identity), test::server_context("tether"));
    REQUIRE(pair.handshake());
    std::string data(1 << 20, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 251);

    SUBCASE("the default limit") {
        std::size_t writes = 0;
        CHECK(send_through(*pair.server, *pair.client, data, writes) == data);
        CHECK(writes > 1);
    }
    SUBCASE("nothing taken while the limit is full, until the socket drains") {
        pair.client->set_ciphertext_limit(32 * 1024);
        const std::size_t first = pair.client->write(bytes(data));
        CHECK(first == 32 * 1024);  // as much as the limit allows, in full records
        CHECK(pair.client->pending_ciphertext() > 32 * 1024);
        CHECK(pair.client->write(bytes(data).subspan(first)) == 0);  // still waiting
        test::transfer(*pair.client, *pair.server);
        CHECK(pair.client->write(bytes(data).subspan(first)) > 0);
    }
    SUBCASE("the writer's buffer may move between partial writes") {
        std::size_t writes = 0;
        // A different copy of the remaining bytes each time (ACCEPT_MOVING_WRITE_BUFFER).
        std::string received;
        std::size_t offset = 0;
        while (offset < data.size()) {
            const std::string copy = data.substr(offset);
            offset += pair.client->write(bytes(copy));
            ++writes;
            test::transfer(*pair.client, *pair.server);
            received += test::EnginePair::read_all(*pair.server);
        }
        CHECK(received == data);
        CHECK(writes > 1);
    }
}

TEST_CASE("close_notify: the reader sees peer_closed after the data before it") {
    test::EnginePair pair(test::client_context(tls::ClientMode::verify_identity), test::server_context("tether"));
    REQUIRE(pair.handshake());
    const std::string quit("\x01\x00\x00\x00\x01", 5);  // COM_QUIT
    CHECK(pair.client->write(bytes(quit)) == 5);
    pair.client->shutdown();
    pair.client->shutdown();  // once only
    test::transfer(*pair.client, *pair.server);
    CHECK(test::EnginePair::read_all(*pair.server) == std::string("\x01\x00\x00\x00\x01", 5));
    CHECK(pair.server->state() == Engine::State::peer_closed);

    pair.server->shutdown();
    CHECK(test::transfer(*pair.server, *pair.client) > 0);
    test::EnginePair::read_all(*pair.client);
    CHECK(pair.client->state() == Engine::State::peer_closed);
}

TEST_CASE("an end of stream after the handshake, without close_notify, is a close, not a failure") {
    test::EnginePair pair(test::client_context(tls::ClientMode::verify_identity), test::server_context("tether"));
    REQUIRE(pair.handshake());
    pair.server->feed_eof();
    std::array<std::uint8_t, 16> out{};
    CHECK(pair.server->read(out) == 0);
    CHECK(pair.server->state() == Engine::State::peer_closed);
}

TEST_CASE("a corrupted record after the handshake fails the session") {
    test::EnginePair pair(test::client_context(tls::ClientMode::verify_identity), test::server_context("tether"));
    REQUIRE(pair.handshake());
    CHECK(pair.client->write(bytes("hello, server")) == 13);
    std::array<std::uint8_t, 256> record{};
    const std::size_t n = pair.client->take_ciphertext(record);
    record[n - 1] ^= 0x01;  // flips a bit of the AEAD tag
    pair.server->feed(std::span<const std::uint8_t>(record.data(), n));
    std::array<std::uint8_t, 64> out{};
    CHECK(pair.server->read(out) == 0);
    CHECK(pair.server->state() == Engine::State::failed);
    CHECK(pair.server->failure().reason == tls::FailureReason::protocol);
}

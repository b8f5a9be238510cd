// Session resumption to the server: the client context remembers the newest
// session and the next engine from it resumes, with TLS 1.3 tickets (which
// arrive after the handshake) and with TLS 1.2.
#include <doctest/doctest.h>

#include <openssl/ssl.h>

#include "engine_pair.hpp"
#include "test_certs.hpp"

using namespace tether;

TEST_CASE("a second connection from the same client context resumes") {
    for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        CAPTURE(version);
        auto client = test::client_context(tls::ClientMode::verify_identity);
        SSL_CTX_set_max_proto_version(client->native(), version);
        auto server = test::server_context("tether");
        CHECK(client->resumable_session() == nullptr);

        test::EnginePair first(client, server);
        REQUIRE(first.handshake());
        CHECK_FALSE(first.client->resumed());
        // The TLS 1.3 tickets come with the server's first bytes after the
        // handshake; a client reads them as it reads the server's greeting.
        test::transfer(*first.server, *first.client);
        test::EnginePair::read_all(*first.client);
        CHECK(client->resumable_session() != nullptr);

        test::EnginePair second(client, server);
        REQUIRE(second.handshake());
        CHECK(second.client->resumed());
        CHECK(second.server->resumed());
        CHECK(second.client->version() == first.client->version());

        // A new context (a reload, another upstream) starts without one.
        auto fresh = test::client_context(tls::ClientMode::verify_identity);
        test::EnginePair third(fresh, server);
        REQUIRE(third.handshake());
        CHECK_FALSE(third.client->resumed());
    }
}

TEST_CASE("the session survives its connection's end without close_notify") {
    // OpenSSL marks a session not resumable when its SSL is freed without a
    // close_notify sent, and a server connection often ends with COM_QUIT
    // and a closed socket (MariaDB's own end does the same).
    for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        CAPTURE(version);
        auto client = test::client_context(tls::ClientMode::verify_identity);
        SSL_CTX_set_max_proto_version(client->native(), version);
        auto server = test::server_context("tether");
        {
            test::EnginePair first(client, server);
            REQUIRE(first.handshake());
            test::EnginePair::read_all(*first.client);
        }
        REQUIRE(client->resumable_session() != nullptr);
        for (int i = 0; i < 3; ++i) {  // and again, from the session a resumed connection left
            test::EnginePair next(client, server);
            REQUIRE(next.handshake());
            test::EnginePair::read_all(*next.client);
            CHECK(next.client->resumed());
        }
    }
}

TEST_CASE("the remembered session can be forgotten") {
    auto client = test::client_context(tls::ClientMode::required);
    auto server = test::server_context("tether");
    test::EnginePair first(client, server);
    REQUIRE(first.handshake());
    test::EnginePair::read_all(*first.client);
    REQUIRE(client->resumable_session() != nullptr);
    client->forget_session();
    CHECK(client->resumable_session() == nullptr);
    test::EnginePair second(client, server);
    REQUIRE(second.handshake());
    CHECK_FALSE(second.client->resumed());
}

TEST_CASE("a handshake that offered the session and failed makes the next one start clean") {
    auto client = test::client_context(tls::ClientMode::verify_identity);
    auto server = test::server_context("tether");
    {
        test::EnginePair first(client, server);
        REQUIRE(first.handshake());
        test::EnginePair::read_all(*first.client);
    }
    REQUIRE(client->resumable_session() != nullptr);
    auto offering = tls::Engine::client(client);
    offering->handshake();
    offering->feed_eof();  // the server vanished before answering
    CHECK(offering->handshake() == tls::Engine::State::failed);
    CHECK(client->resumable_session() == nullptr);
}

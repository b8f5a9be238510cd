// What each --upstream-tls mode accepts and refuses, with the test
// certificates: good, expired, wrong name, unknown CA, a chain, an IP
// identity, and client certificates. The reason labels are checked on the
// side that noticed and, where an alert tells it, on the other side too.
#include <doctest/doctest.h>

#include <openssl/ssl.h>

#include "engine_pair.hpp"
#include "test_certs.hpp"

using namespace tether;
using tls::ClientMode;
using tls::Engine;
using tls::FailureReason;

namespace {
struct Case {
    ClientMode mode;
    const char* trusted_ca;
    const char* server_certificate;
    const char* server_name;
    bool succeeds;
    FailureReason client_reason;  // when it fails
};
}  // namespace

TEST_CASE("verify modes against good and bad server certificates") {
    const Case cases[] = {
        {ClientMode::verify_identity, "ca", "tether", "localhost", true, {}},
        {ClientMode::verify_identity, "ca", "chain", "localhost", true, {}},
        {ClientMode::verify_identity, "ca", "tether", "127.0.0.1", true, {}},
        {ClientMode::verify_identity, "ca", "expired", "localhost", false, FailureReason::expired},
        {ClientMode::verify_identity, "ca", "not-yet-valid", "localhost", false, FailureReason::not_yet_valid},
        {ClientMode::verify_identity, "ca", "wrong-name", "localhost", false, FailureReason::name_mismatch},
        {ClientMode::verify_identity, "ca", "tether", "127.0.0.2", false, FailureReason::name_mismatch},
        {ClientMode::verify_identity, "ca", "tether", "db.example", false, FailureReason::name_mismatch},
        {ClientMode::verify_identity, "other-ca", "tether", "localhost", false, FailureReason::unknown_ca},
        {ClientMode::verify_ca, "ca", "wrong-name", "localhost", true, {}},
        {ClientMode::verify_ca, "ca", "expired", "localhost", false, FailureReason::expired},
        {ClientMode::verify_ca, "other-ca", "tether", "localhost", false, FailureReason::unknown_ca},
        // No CA given: the system store, which does not know the test CA.
        {ClientMode::verify_ca, "", "tether", "localhost", false, FailureReason::unknown_ca},
        // preferred and required encrypt without checking, as MySQL's clients do.
        {ClientMode::required, "other-ca", "expired", "localhost", true, {}},
        {ClientMode::preferred, "", "wrong-name", "nothing.example", true, {}},
    };
    for (const Case& c : cases) {
        CAPTURE(tls::format_client_mode(c.mode));
        CAPTURE(c.trusted_ca);
        CAPTURE(c.server_certificate);
        CAPTURE(c.server_name);
        test::EnginePair pair(test::client_context(c.mode, c.trusted_ca, c.server_name),
                              test::server_context(c.server_certificate));
        // The handshake completes either way: the server must see a finished
        // TLS handshake (a broken one counts toward max_connect_errors).
        REQUIRE(pair.handshake());
        CHECK(pair.server->state() == Engine::State::open);
        CHECK(pair.client->peer_rejection().has_value() == !c.succeeds);
        if (c.succeeds) continue;
        REQUIRE(pair.client->peer_rejection());
        CHECK(tls::format_failure_reason(pair.client->peer_rejection()->reason) ==
              tls::format_failure_reason(c.client_reason));
    }
}

TEST_CASE("the verification error is the client's detail; the server sees a completed handshake") {
    SUBCASE("expired") {
        test::EnginePair pair(test::client_context(ClientMode::verify_identity), test::server_context("expired"));
        CHECK(pair.handshake());
        REQUIRE(pair.client->peer_rejection());
        CHECK(pair.client->peer_rejection()->detail == "certificate has expired");
        CHECK(pair.server->state() == Engine::State::open);
    }
    SUBCASE("unknown CA") {
        test::EnginePair pair(test::client_context(ClientMode::verify_identity, "other-ca"),
                              test::server_context("tether"));
        CHECK(pair.handshake());
        REQUIRE(pair.client->peer_rejection());
        CHECK(pair.client->peer_rejection()->reason == FailureReason::unknown_ca);
        CHECK_MESSAGE(pair.client->peer_rejection()->detail.find("certificate") != std::string::npos,
                      pair.client->peer_rejection()->detail);
    }
    SUBCASE("wrong name") {
        test::EnginePair pair(test::client_context(ClientMode::verify_identity), test::server_context("wrong-name"));
        CHECK(pair.handshake());
        REQUIRE(pair.client->peer_rejection());
        CHECK(pair.client->peer_rejection()->detail.find("mismatch") != std::string::npos);
    }
    SUBCASE("a rejected server's session is never offered again") {
        auto context = test::client_context(ClientMode::verify_identity, "other-ca");
        for (int i = 0; i < 2; ++i) {
            test::EnginePair pair(context, test::server_context("tether"));
            CHECK(pair.handshake());
            test::transfer(*pair.server, *pair.client);  // TLS 1.3 tickets come after the handshake
            test::EnginePair::read_all(*pair.client);
            CHECK(pair.client->peer_rejection());
            CHECK_FALSE(pair.client->resumed());
        }
        CHECK(context->resumable_session() == nullptr);
    }
}

namespace {
// A server that asks for a client certificate signed by the test CA: what
// a MySQL server does for an account created REQUIRE X509.
std::shared_ptr<const tls::ServerContext> server_requiring_client_certificate() {
    auto context = test::server_context("server");
    REQUIRE(SSL_CTX_load_verify_locations(context->native(), test::cert_file("ca").c_str(), nullptr) == 1);
    SSL_CTX_set_verify(context->native(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    return context;
}
}  // namespace

TEST_CASE("a client certificate is presented to a server that asks for one") {
    tls::ClientOptions options;
    options.mode = ClientMode::verify_identity;
    options.ca_file = test::cert_file("ca");
    options.server_name = "localhost";
    options.certificate_file = test::cert_file("client");
    options.key_file = test::key_file("client");
    auto with_certificate = tls::ClientContext::load(options);
    REQUIRE_MESSAGE(with_certificate.has_value(), with_certificate.error());

    test::EnginePair pair(with_certificate.value(), server_requiring_client_certificate());
    REQUIRE(pair.handshake());
}

TEST_CASE("without a client certificate such a server refuses: no_certificate") {
    test::EnginePair pair(test::client_context(ClientMode::verify_identity), server_requiring_client_certificate());
    pair.handshake();
    CHECK(pair.server->state() == Engine::State::failed);
    CHECK(pair.server->failure().reason == FailureReason::no_certificate);
    // TLS 1.3: the client finished its side before the refusal; it learns
    // of it when it reads, as the alert arrives.
    test::transfer(*pair.server, *pair.client);
    test::EnginePair::read_all(*pair.client);
    CHECK(pair.client->state() == Engine::State::failed);
    CHECK(pair.client->failure().reason == FailureReason::no_certificate);
}

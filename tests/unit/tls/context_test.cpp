// Loading the two TLS contexts: good files load, bad ones come back as a
// message naming the file and the reason, never as an exception or a print.
#include <doctest/doctest.h>

#include "test_certs.hpp"
#include "tether/tls/client_mode.hpp"
#include "tether/tls/protocol_version.hpp"

using namespace tether;
using tether::test::cert_file;
using tether::test::key_file;

TEST_CASE("modes and versions parse from and format to the flag's spelling") {
    for (auto name : {"disabled", "preferred", "required", "verify-ca", "verify-identity"}) {
        auto mode = tls::parse_client_mode(name);
        REQUIRE(mode.has_value());
        CHECK(tls::format_client_mode(*mode) == name);
    }
    CHECK_FALSE(tls::parse_client_mode("VERIFY_IDENTITY").has_value());
    CHECK_FALSE(tls::parse_client_mode("").has_value());
    CHECK(tls::requires_tls(tls::ClientMode::required));
    CHECK_FALSE(tls::requires_tls(tls::ClientMode::preferred));
    CHECK(tls::verifies_peer(tls::ClientMode::verify_ca));
    CHECK_FALSE(tls::verifies_peer(tls::ClientMode::required));

    CHECK(tls::parse_protocol_version("TLSv1.2") == tls::ProtocolVersion::tls1_2);
    CHECK(tls::parse_protocol_version("TLSv1.3") == tls::ProtocolVersion::tls1_3);
    CHECK(tls::format_protocol_version(tls::ProtocolVersion::tls1_3) == "TLSv1.3");
    CHECK_FALSE(tls::parse_protocol_version("TLSv1.1").has_value());
    CHECK_FALSE(tls::parse_protocol_version("1.2").has_value());
}

TEST_CASE("a server context loads a certificate and its key, or a chain") {
    CHECK(tls::ServerContext::load(test::server_options(cert_file("tether"), key_file("tether"))).has_value());
    CHECK(tls::ServerContext::load(test::server_options(cert_file("chain"), key_file("chain"))).has_value());
}

TEST_CASE("a server context that cannot load says which file and why") {
    SUBCASE("missing certificate file") {
        auto loaded = tls::ServerContext::load(test::server_options("/nonexistent/tls.crt", key_file("tether")));
        REQUIRE_FALSE(loaded.has_value());
        CHECK(loaded.error().find("/nonexistent/tls.crt") != std::string::npos);
        CHECK(loaded.error().find("certificate") != std::string::npos);
    }
    SUBCASE("the key belongs to another certificate") {
        auto loaded = tls::ServerContext::load(test::server_options(cert_file("tether"), key_file("server")));
        REQUIRE_FALSE(loaded.has_value());
        CHECK(loaded.error().find(key_file("server")) != std::string::npos);
        CHECK(loaded.error().find("mismatch") != std::string::npos);
        // Neither the key's bytes nor its PEM armour ever reach a message.
        CHECK(loaded.error().find("PRIVATE KEY") == std::string::npos);
    }
    SUBCASE("a key file that is not a key") {
        auto loaded = tls::ServerContext::load(test::server_options(cert_file("tether"), cert_file("tether")));
        REQUIRE_FALSE(loaded.has_value());
        CHECK(loaded.error().find("cannot use the private key in " + cert_file("tether")) != std::string::npos);
    }
    SUBCASE("no cipher of the list exists") {
        auto options = test::server_options(cert_file("tether"), key_file("tether"));
        options.ciphers = "NOT-A-CIPHER";
        auto loaded = tls::ServerContext::load(options);
        REQUIRE_FALSE(loaded.has_value());
        CHECK(loaded.error().find("NOT-A-CIPHER") != std::string::npos);
    }
    SUBCASE("no TLS 1.3 suite of the list exists") {
        auto options = test::server_options(cert_file("tether"), key_file("tether"));
        options.ciphersuites = "TLS_NOT_A_SUITE";
        auto loaded = tls::ServerContext::load(options);
        REQUIRE_FALSE(loaded.has_value());
        CHECK(loaded.error().find("TLS_NOT_A_SUITE") != std::string::npos);
    }
    SUBCASE("no files") {
        CHECK_FALSE(tls::ServerContext::load({}).has_value());
    }
}

TEST_CASE("a client context refuses settings that cannot work") {
    tls::ClientOptions options;
    SUBCASE("disabled needs no context") {
        options.mode = tls::ClientMode::disabled;
        CHECK(tls::ClientContext::load(options).error().find("disabled") != std::string::npos);
    }
    SUBCASE("verify-identity without a name") {
        options.mode = tls::ClientMode::verify_identity;
        options.ca_file = cert_file("ca");
        CHECK(tls::ClientContext::load(options).error().find("verify-identity") != std::string::npos);
    }
    SUBCASE("a client certificate without its key") {
        options.certificate_file = cert_file("client");
        CHECK_FALSE(tls::ClientContext::load(options).has_value());
    }
    SUBCASE("a CA file that does not exist") {
        options.mode = tls::ClientMode::verify_ca;
        options.ca_file = "/nonexistent/ca.pem";
        auto loaded = tls::ClientContext::load(options);
        REQUIRE_FALSE(loaded.has_value());
        CHECK(loaded.error().find("/nonexistent/ca.pem") != std::string::npos);
    }
    SUBCASE("a client certificate with the wrong key") {
        options.certificate_file = cert_file("client");
        options.key_file = key_file("tether");
        auto loaded = tls::ClientContext::load(options);
        REQUIRE_FALSE(loaded.has_value());
        CHECK(loaded.error().find("mismatch") != std::string::npos);
    }
}

TEST_CASE("a client context knows an IP literal from a host name") {
    CHECK(test::client_context(tls::ClientMode::verify_identity, "ca", "127.0.0.1")->server_name_is_ip());
    CHECK(test::client_context(tls::ClientMode::verify_identity, "ca", "::1")->server_name_is_ip());
    CHECK_FALSE(test::client_context(tls::ClientMode::verify_identity, "ca", "localhost")->server_name_is_ip());
}

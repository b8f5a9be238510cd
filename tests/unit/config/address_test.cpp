// parse_address: "host:port", "[v6]:port" and "unix:/path".
#include <doctest/doctest.h>

#include <string>

#include "tether/config/address.hpp"

using tether::config::Address;
using tether::config::parse_address;

namespace {

Address parsed(std::string_view text) {
    std::string error;
    auto a = parse_address(text, error);
    REQUIRE_MESSAGE(a.has_value(), std::string(text), ": ", error);
    CHECK(error.empty());
    return *a;
}

}  // namespace

TEST_CASE("parse_address reads host:port") {
    const auto a = parsed("db.internal:3306");
    CHECK(a.kind == Address::Kind::tcp);
    CHECK(a.host == "db.internal");
    CHECK(a.port == 3306);
    CHECK(a.path.empty());
    CHECK(a.text == "db.internal:3306");
    CHECK_FALSE(a.is_loopback());

    const auto v4 = parsed("127.0.0.1:3307");
    CHECK(v4.host == "127.0.0.1");
    CHECK(v4.port == 3307);
    CHECK(v4.is_loopback());

    CHECK(parsed("localhost:0").port == 0);
    CHECK(parsed("localhost:65535").port == 65535);
    CHECK(parsed("localhost:1").is_loopback());
    CHECK_FALSE(parsed("0.0.0.0:3306").is_loopback());
}

TEST_CASE("parse_address reads a bracketed IPv6 literal") {
    const auto a = parsed("[::1]:3306");
    CHECK(a.kind == Address::Kind::tcp);
    CHECK(a.host == "::1");
    CHECK(a.port == 3306);
    CHECK(a.is_loopback());

    const auto b = parsed("[fd00::10:2]:13306");
    CHECK(b.host == "fd00::10:2");
    CHECK(b.port == 13306);
    CHECK_FALSE(b.is_loopback());
}

TEST_CASE("parse_address reads unix:/path") {
    const auto a = parsed("unix:/run/mysqld/mysqld.sock");
    CHECK(a.kind == Address::Kind::unix_socket);
    CHECK(a.path == "/run/mysqld/mysqld.sock");
    CHECK(a.host.empty());
    CHECK(a.port == 0);
    CHECK(a.text == "unix:/run/mysqld/mysqld.sock");
    CHECK(a.is_loopback());
}

TEST_CASE("parse_address refuses bad addresses with a reason") {
    for (const std::string text : {"", "db", "db:", ":3306", "db:port", "db:65536", "db:-1", "db:+1", "db:3306x",
                             "db: 3306", "db:99999999999", "[::1]", "[::1]:", "[::1]3306", "[]:3306", "unix:",
                             "[::1]:abc"}) {
        CAPTURE(text);
        std::string error;
        CHECK_FALSE(parse_address(text, error).has_value());
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("parse_address explains each kind of mistake") {
    std::string error;
    CHECK_FALSE(parse_address("unix:", error));
    CHECK(error == "empty unix socket path");
    CHECK_FALSE(parse_address("[::1]", error));
    CHECK(error == "expected [v6-address]:port");
    CHECK_FALSE(parse_address("db", error));
    CHECK(error == "expected host:port or unix:/path");
    CHECK_FALSE(parse_address("db:70000", error));
    CHECK(error == "expected host:port with a port from 0 to 65535");
}

TEST_CASE("parse_address refuses an IPv6 literal without brackets") {
    // "fd00::1" must not become host "fd00:" port 1: a host with a colon is
    // only unambiguous inside brackets.
    for (const std::string text : {"::1", "fd00::1", "::1:3306", "fd00::10:2:3306", "db:3306:1"}) {
        CAPTURE(text);
        std::string error;
        const auto a = parse_address(text, error);
        CHECK_MESSAGE(!a.has_value(), "parsed as host '", a ? a->host : "", "' port ", a ? a->port : 0);
        CHECK_FALSE(error.empty());
    }
}

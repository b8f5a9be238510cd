// An abandoned handshake (or a readiness probe, whose client is gone from the
// start) that tether finishes itself still says what the upstream did wrong:
// /readyz reports it instead of the client-side "client went away".
#include <doctest/doctest.h>

#include "capture.hpp"
#include "session_test_support.hpp"

namespace tether::session::test {

namespace {

bool noted(const Driver& d, std::string_view text) {
    for (const auto& n : d.notes) {
        if (n.find(text) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("finishing: an ERR 1040 instead of the greeting is a refusal, with the server's words") {
    const ByteVec fixture = load_fixture_bytes("err_1040_too-many-connections_pre-handshake.hex");
    Driver d;
    d.connect();
    d.client_closed();
    REQUIRE(d.session().phase() == Phase::finishing_upstream);
    d.notes.clear();
    d.upstream(fixture);
    CHECK(d.saw<UpstreamRefused>());
    CHECK_FALSE(d.saw<GreetingReceived>());
    CHECK(noted(d, "upstream refused the connection: 1040"));
    CHECK(d.session().phase() == Phase::closed);
    CHECK(d.to_client.empty());
}

TEST_CASE("finishing: garbage instead of the greeting is noted") {
    Driver d;
    d.connect();
    d.client_closed();
    d.notes.clear();
    d.upstream(Stream(0).packet(ByteVec{std::byte{0x01}, std::byte{0x02}}).bytes());
    CHECK(noted(d, "malformed greeting from upstream"));
    CHECK_FALSE(d.saw<UpstreamRefused>());
}

TEST_CASE("finishing: no greeting before the deadline is noted with the upstream's name") {
    Driver d;
    d.connect();
    d.client_closed();
    d.notes.clear();
    d.tick_after(std::chrono::milliseconds(20'000));
    CHECK(d.session().phase() == Phase::closed);
    REQUIRE_FALSE(d.notes.empty());
    CHECK(d.notes.back().find("sent no greeting within") != std::string::npos);
}

TEST_CASE("finishing: the upstream closing before its greeting is noted; after it, nothing is") {
    Driver d;
    d.connect();
    d.client_closed();
    d.notes.clear();
    d.upstream_closed();
    CHECK(noted(d, "closed the connection before its greeting"));

    Driver greeted;
    greeted.connect();
    greeted.upstream(greeting_bytes());
    greeted.client_closed();
    greeted.notes.clear();
    greeted.upstream_closed();
    CHECK(greeted.notes.empty());
}

}  // namespace tether::session::test

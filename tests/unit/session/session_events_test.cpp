// What each step tells the owner: typed events, each with its own detail, in the order they happened.
#include <doctest/doctest.h>

#include "session_test_support.hpp"
#include "tether/codec/command.hpp"

namespace tether::session::test {

TEST_CASE("events: a login raises greeting, login and authenticated, each once, in that order, with no detail") {
    Driver e;
    e.connect();
    e.upstream(greeting_bytes());
    e.client(login_bytes());
    e.upstream(Stream(2).ok(codec::status::autocommit).bytes());
    CHECK(event_names(e.events) == std::vector<std::string_view>{"greeting_received", "login_received", "authenticated"});
    CHECK(e.notes.empty());
}

TEST_CASE("events: a connect failure is UpstreamUnreachable, naming the upstream and why") {
    Driver d;
    Actions a;
    d.session().start(a);
    d.connect_failed("connection refused");
    REQUIRE(d.first<UpstreamUnreachable>() != nullptr);
    CHECK(d.first<UpstreamUnreachable>()->why == "cannot connect to upstream db.test:3306: connection refused");
    CHECK(count_events<UpstreamProblem>(d.events) == 0);
}

TEST_CASE("events: no greeting in time is UpstreamUnreachable") {
    Driver d;
    d.connect();
    d.tick_after(std::chrono::milliseconds(10'001));
    REQUIRE(d.first<UpstreamUnreachable>() != nullptr);
    CHECK(d.first<UpstreamUnreachable>()->why == "upstream db.test:3306 sent no greeting within 10s");
}

TEST_CASE("events: a connect failure after the client left is a problem of the finish, not an unreachable upstream") {
    // The close reason stays the client's (handshake_failed): readiness is not
    // told, as before typed events (the old owner inferred it from the reason).
    Driver d;
    Actions a;
    d.session().start(a);
    d.client_closed();
    REQUIRE(d.first<HandshakeAbandoned>() != nullptr);
    CHECK(d.first<HandshakeAbandoned>()->why == "client went away during the handshake (connecting)");
    d.connect_failed("connection refused");
    CHECK_FALSE(d.saw<UpstreamUnreachable>());
    REQUIRE(d.first<UpstreamProblem>() != nullptr);
    CHECK(d.first<UpstreamProblem>()->what == "cannot connect to upstream db.test:3306: connection refused");
    CHECK(d.session().close_reason() == CloseReason::handshake_failed);
}

TEST_CASE("events: the server's refusals carry its code and words") {
    SUBCASE("an ERR 1040 instead of the greeting") {
        Driver d;
        d.connect();
        d.upstream(load_fixture_bytes("err_1040_too-many-connections_pre-handshake.hex"));
        const auto* refused = d.first<UpstreamRefused>();
        REQUIRE(refused != nullptr);
        REQUIRE(refused->error.has_value());
        CHECK(refused->error->code == 1040);
        CHECK(refused->error->message == "Too many connections");
        CHECK(refused->detail() == "upstream refused the connection: 1040 Too many connections");
    }
    SUBCASE("an ERR 1045 for the login") {
        Driver d;
        d.connect();
        d.upstream(greeting_bytes());
        d.client(login_bytes());
        d.upstream(Stream(2).err(1045, "28000", "Access denied for user 'app'@'10.0.0.7'").bytes());
        const auto* failed = d.first<AuthFailed>();
        REQUIRE(failed != nullptr);
        REQUIRE(failed->error.has_value());
        CHECK(failed->error->code == 1045);
        CHECK(failed->detail() == "upstream refused the login: 1045 Access denied for user 'app'@'10.0.0.7'");
    }
    SUBCASE("an ERR that does not decode still says what happened") {
        Driver d;
        d.connect();
        d.upstream(frame(0, ByteVec{std::byte{0xFF}, std::byte{0x10}}));
        const auto* refused = d.first<UpstreamRefused>();
        REQUIRE(refused != nullptr);
        CHECK_FALSE(refused->error.has_value());
        CHECK(refused->detail() == "upstream refused the connection");
    }
}

TEST_CASE("events: tether's own refusals are ClientRefused with the words the client got") {
    Driver d;
    d.auto_admit = false;
    d.connect();
    d.upstream(greeting_bytes());
    d.client(login_bytes());
    d.clear_output();
    d.admit(Admission::refuse(1040, "08004", "Too many connections (tether: --max-connections 10)"));
    const auto* refused = d.first<ClientRefused>();
    REQUIRE(refused != nullptr);
    CHECK(refused->why == "Too many connections (tether: --max-connections 10)");
    CHECK(single_err(d.to_client).message == refused->why);
}

TEST_CASE("events: a lost sync is Desynced with its category and the tracker's words") {
    Driver d;
    log_in(d);
    d.client(com_simple(0x40));
    const auto* desynced = d.first<Desynced>();
    REQUIRE(desynced != nullptr);
    CHECK(desynced->category == DesyncReason::unsupported_command);
    CHECK(desynced->reason == "unsupported command");
    CHECK(desynced->detail() == "lost protocol sync, relaying without tracking: unsupported command");
}

TEST_CASE("events: an abandoned handshake, then the finish's own news, in the order they happened") {
    // The client leaves while tether holds a server packet it cannot follow:
    // both facts are reported (one line each), the client's first.
    Driver d;
    d.connect();
    d.upstream(greeting_bytes());
    d.client(login_bytes());
    d.upstream(frame(2, ByteVec{std::byte{0xFE}, std::byte{'x'}}));  // an auth switch left unanswered
    d.clear_output();
    d.client_closed();
    REQUIRE_FALSE(d.events.empty());
    CHECK(std::holds_alternative<HandshakeAbandoned>(d.events.front()));
    CHECK(d.notes.front() == "client went away during the handshake (authenticating)");
}

TEST_CASE("events: an EventList copies, moves and clears its events") {
    EventList list;
    CHECK(list.empty());
    list.push(GreetingReceived{});
    list.push(UpstreamProblem{"a long enough detail that no small-string buffer holds it inline"});
    EventList copy(list);
    REQUIRE(copy.size() == 2);
    CHECK(copy.find<UpstreamProblem>()->what == list.find<UpstreamProblem>()->what);
    EventList moved(std::move(copy));
    CHECK(copy.empty());
    REQUIRE(moved.size() == 2);
    CHECK(moved.contains<GreetingReceived>());
    copy = moved;
    CHECK(copy.size() == 2);
    moved.clear();
    CHECK(moved.empty());
    CHECK_FALSE(moved.contains<GreetingReceived>());
    CHECK(event_detail(copy[1]) == "a long enough detail that no small-string buffer holds it inline");
    CHECK(upstream_detail(copy[0]).empty());
}

}  // namespace tether::session::test

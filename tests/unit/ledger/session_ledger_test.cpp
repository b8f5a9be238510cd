// SessionLedger: a login through to its close, auth failures, a refusal by
// each cap, the handshake slot, and a close that comes twice.
#include <doctest/doctest.h>

#include "exposition.hpp"
#include "ledger_fixture.hpp"

using tether::attribution::Limit;
using tether::ledger::admission_of;
using tether::ledger::SessionAccount;
using tether::ledger::test::Caps;
using tether::ledger::test::LedgerFixture;
using tether::ledger::test::peer;
using tether::ledger::test::t0;
using tether::metrics::test::sample;
using tether::session::CloseReason;

TEST_CASE("A login is labelled, charged, counted open at its OK and undone at its close") {
    LedgerFixture f;
    SessionAccount a;
    f.ledger.handshake_started(a, peer);
    CHECK(f.ledger.handshakes().of_address(peer) == 1);

    f.ledger.login_received(a, LedgerFixture::login("u", "app"), peer);
    REQUIRE(a.labels() != nullptr);
    CHECK(a.labels()->client == "app");
    CHECK(a.labels()->user == "u");
    CHECK(a.client() == "app");
    CHECK(a.user() == "u");
    CHECK(f.open_series("app", "u") == 0);  // labels alone are not a connection

    const auto verdict = f.ledger.admit(a);
    CHECK(verdict.allowed);
    CHECK_FALSE(verdict.admin);
    CHECK(a.charged());
    CHECK(f.ledger.admission().of_client("app") == 1);
    CHECK(f.ledger.admission().of_user("u") == 1);
    CHECK(f.ledger.handshakes().open() == 1);  // still logging in until the server's OK

    CHECK(f.ledger.authenticated(a, peer));  // the slot freed: waiters may have it
    CHECK(a.counted_open());
    CHECK_FALSE(a.in_handshake());
    CHECK(f.ledger.handshakes().open() == 0);
    CHECK(f.open_series("app", "u") == 1);
    CHECK(f.metrics.client_connections(*a.labels()) == 1);

    const auto closed = f.close(a, CloseReason::client_closed);
    CHECK(closed.orphan);  // an open session whose client vanished
    CHECK_FALSE(closed.handshake_slot_freed);
    CHECK(a.closed());
    CHECK(a.labels()->client == "app");  // still there for the session_closed line
    CHECK(f.metrics.client_connections(*a.labels()) == 0);
    const auto text = f.text();
    CHECK(sample(text, "tether_orphans_closed_total") == 1.0);
    CHECK(sample(text, R"(tether_connections_closed_total{reason="client_closed"})") == 1.0);
    f.check_all_released();
}

TEST_CASE("A session tether closes is no orphan") {
    LedgerFixture f;
    SessionAccount a;
    REQUIRE(f.open(a, "u", "app").allowed);
    CHECK_FALSE(f.close(a, CloseReason::idle_timeout).orphan);
    CHECK(sample(f.text(), "tether_orphans_closed_total") == 0.0);
    f.check_all_released();
}

TEST_CASE("An auth failure is counted under its labels; its close gives back the charge and the slot") {
    LedgerFixture f;
    SessionAccount a;
    f.ledger.handshake_started(a, peer);
    f.ledger.login_received(a, LedgerFixture::login("u", "app"), peer);
    REQUIRE(f.ledger.admit(a).allowed);
    f.ledger.auth_failed(a);
    CHECK(sample(f.text(), R"(tether_auth_failures_total{client="app",user="u"})") == 1.0);
    CHECK_FALSE(a.counted_open());
    CHECK(f.ledger.admission().total() == 1);

    const auto closed = f.close(a, CloseReason::auth_failed);
    CHECK(closed.handshake_slot_freed);
    CHECK_FALSE(closed.orphan);  // never open
    CHECK(sample(f.text(), R"(tether_connections_closed_total{reason="auth_failed"})") == 1.0);
    f.check_all_released();
}

TEST_CASE("Each cap refuses the login over it, counted under its labels, and charges nothing") {
    struct Case {
        const char* name;
        Caps caps;
        const char* second_user;
        const char* second_program;
        Limit limit;
        std::uint16_t code;
    };
    const Case cases[] = {
        {"total", Caps{.total = 1}, "v", "other", Limit::total, 1040},
        {"client", Caps{.per_client = 1}, "v", "app", Limit::client, 1203},
        {"user", Caps{.per_user = 1}, "u", "other", Limit::user, 1203},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        LedgerFixture f(c.caps);
        SessionAccount first;
        REQUIRE(f.open(first, "u", "app").allowed);

        SessionAccount second;
        const auto verdict = f.open(second, c.second_user, c.second_program);
        CHECK_FALSE(verdict.allowed);
        CHECK(verdict.limit == c.limit);
        CHECK(verdict.error_code == c.code);
        CHECK_FALSE(second.charged());
        CHECK_FALSE(second.counted_open());
        CHECK(f.ledger.admission().total() == 1);
        const std::string series = std::string("tether_rejected_connections_total{client=\"") + c.second_program +
                                   "\",limit=\"" + c.name + "\",user=\"" + c.second_user + "\"}";
        CHECK(sample(f.text(), series) == 1.0);

        const auto admission = admission_of(verdict);
        CHECK_FALSE(admission.allowed);
        CHECK(admission.error_code == c.code);
        CHECK(admission.message == verdict.message);

        CHECK(f.close(second, CloseReason::rejected).handshake_slot_freed);
        CHECK(f.ledger.admission().total() == 1);  // the first one's charge is untouched
        f.close(first);
        f.check_all_released();
    }
}

TEST_CASE("An admin user is admitted over every cap and never charged") {
    LedgerFixture f(Caps{.total = 1, .per_client = 1, .per_user = 1});
    SessionAccount app;
    REQUIRE(f.open(app, "u", "app").allowed);
    SessionAccount dba;
    const auto verdict = f.open(dba, "root", "app");
    CHECK(verdict.allowed);
    CHECK(verdict.admin);
    CHECK(admission_of(verdict).allowed);
    CHECK_FALSE(dba.charged());
    CHECK(dba.counted_open());
    CHECK(f.ledger.admission().total() == 1);
    CHECK(f.open_series("app", "root") == 1);
    f.close(dba);
    CHECK(f.ledger.admission().total() == 1);
    f.close(app);
    f.check_all_released();
}

TEST_CASE("A second close undoes nothing twice") {
    LedgerFixture f(Caps{.per_client = 2});
    SessionAccount a;
    SessionAccount b;
    REQUIRE(f.open(a, "u", "app").allowed);
    REQUIRE(f.open(b, "u", "app").allowed);
    SessionAccount waiting;  // still logging in: holds a slot from the same address
    f.ledger.handshake_started(waiting, peer);

    CHECK(f.close(a).orphan);
    const auto again = f.close(a);
    CHECK_FALSE(again.orphan);
    CHECK_FALSE(again.handshake_slot_freed);
    // b's charge, series and labels, and the waiter's slot, are still counted.
    CHECK(f.ledger.admission().of_client("app") == 1);
    CHECK(f.open_series("app", "u") == 1);
    CHECK(f.ledger.handshakes().of_address(peer) == 1);
    const auto text = f.text();
    CHECK(sample(text, R"(tether_connections_closed_total{reason="client_closed"})") == 1.0);
    CHECK(sample(text, "tether_orphans_closed_total") == 1.0);
    f.metrics.sweep(t0 + std::chrono::seconds(1));
    CHECK(sample(f.text(), R"(tether_connections_opened_total{client="app",user="u"})") == 2.0);

    f.close(b);
    f.close(waiting);
    f.check_all_released();
}

TEST_CASE("The handshake slot is given back once: at the OK, not again at the close") {
    LedgerFixture f(Caps{.handshakes = 1});
    SessionAccount a;
    CHECK(f.ledger.handshake_verdict(peer).allowed);
    f.ledger.handshake_started(a, peer);
    const auto full = f.ledger.handshake_verdict("10.0.0.8");
    CHECK_FALSE(full.allowed);
    CHECK(full.limit == Limit::handshakes);
    f.ledger.login_received(a, LedgerFixture::login("u", "app"), peer);
    REQUIRE(f.ledger.admit(a).allowed);
    CHECK(f.ledger.authenticated(a, peer));
    CHECK_FALSE(f.ledger.authenticated(a, peer));  // a repeated OK frees nothing more
    SessionAccount b;  // takes the freed slot
    f.ledger.handshake_started(b, peer);
    CHECK_FALSE(f.close(a).handshake_slot_freed);
    CHECK(f.ledger.handshakes().open() == 1);  // b's slot is still b's
    CHECK(f.close(b).handshake_slot_freed);
    f.check_all_released();
}

TEST_CASE("A session with no address (unix socket) is counted in the handshake total only") {
    LedgerFixture f(Caps{.handshakes = 2, .handshakes_per_address = 1});
    SessionAccount a;
    SessionAccount b;
    const std::string none;
    f.ledger.handshake_started(a, none);
    CHECK(f.ledger.handshake_verdict(none).allowed);
    f.ledger.handshake_started(b, none);
    CHECK(f.ledger.handshakes().addresses() == 0);
    CHECK(f.ledger.closed(a, CloseReason::client_closed, 0, none, t0).handshake_slot_freed);
    CHECK(f.ledger.closed(b, CloseReason::client_closed, 0, none, t0).handshake_slot_freed);
    f.check_all_released();
}

TEST_CASE("--server-reserve: refused while the server is nearly full, counted as limit server; admins pass") {
    LedgerFixture f(Caps{.server_reserve = 2});
    f.ledger.server_state(96, 100);  // 4 free: two logins fit above the reserve
    SessionAccount a, b, c, dba;
    REQUIRE(f.open(a, "u", "app").allowed);
    REQUIRE(f.open(b, "u", "app").allowed);
    const auto verdict = f.open(c, "u", "app");
    CHECK_FALSE(verdict.allowed);
    CHECK(verdict.limit == Limit::server);
    CHECK(verdict.error_code == 1040);
    CHECK_FALSE(c.charged());
    CHECK(sample(f.text(), "tether_rejected_connections_total{client=\"app\",limit=\"server\",user=\"u\"}") == 1.0);
    CHECK(f.open(dba, "root", "console").allowed);  // the admin lane
    // The monitor lost the server: nothing is refused on a guess.
    f.ledger.server_unknown();
    SessionAccount d;
    CHECK(f.open(d, "u", "app").allowed);
    for (SessionAccount* s : {&a, &b, &dba, &d}) f.close(*s);
    f.close(c, CloseReason::rejected);
    f.check_all_released();
}

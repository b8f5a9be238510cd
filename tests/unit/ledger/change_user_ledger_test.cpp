// SessionLedger under COM_CHANGE_USER: the charge, the labels and the open
// series move from the old identity to the new one, and the admin lane is
// never charged.
#include <doctest/doctest.h>

#include "exposition.hpp"
#include "ledger_fixture.hpp"

using tether::attribution::Limit;
using tether::ledger::SessionAccount;
using tether::ledger::test::Caps;
using tether::ledger::test::LedgerFixture;
using tether::ledger::test::t0;
using tether::metrics::test::sample;
using tether::session::CloseReason;

TEST_CASE("Change of user capped -> admin: the charge goes, the open series moves to the admin's labels") {
    LedgerFixture f(Caps{.per_user = 1});
    SessionAccount a;
    REQUIRE(f.open(a, "u", "app").allowed);
    CHECK(f.ledger.admission().of_user("u") == 1);

    const auto verdict = f.change_user(a, "root", "app");
    CHECK(verdict.allowed);
    CHECK(verdict.admin);
    CHECK_FALSE(a.charged());
    CHECK(f.ledger.admission().total() == 0);
    CHECK(f.ledger.admission().of_user("u") == 0);
    CHECK(a.labels()->user == "root");
    CHECK(a.counted_open());
    CHECK(f.open_series("app", "u") == 0);
    CHECK(f.open_series("app", "root") == 1);

    // The capped user's place is free for another session.
    SessionAccount b;
    CHECK(f.open(b, "u", "app").allowed);

    CHECK(f.close(a).orphan);
    f.close(b);
    f.check_all_released();
}

TEST_CASE("Change of user admin -> capped: charged as a login, refused when over the cap") {
    LedgerFixture f(Caps{.per_user = 1});
    SessionAccount dba;
    REQUIRE(f.open(dba, "root", "tool").allowed);
    CHECK(f.ledger.admission().total() == 0);

    SUBCASE("under the cap: admitted and charged") {
        const auto verdict = f.change_user(dba, "u", "tool");
        CHECK(verdict.allowed);
        CHECK_FALSE(verdict.admin);
        CHECK(dba.charged());
        CHECK(f.ledger.admission().of_user("u") == 1);
        CHECK(f.open_series("tool", "root") == 0);
        CHECK(f.open_series("tool", "u") == 1);
        f.close(dba, CloseReason::client_quit);
    }
    SUBCASE("over the cap: refused, nothing charged, the session ends rejected") {
        SessionAccount app;
        REQUIRE(f.open(app, "u", "app").allowed);
        const auto verdict = f.change_user(dba, "u", "tool");
        CHECK_FALSE(verdict.allowed);
        CHECK(verdict.limit == Limit::user);
        CHECK(verdict.error_code == 1203);
        CHECK_FALSE(dba.charged());
        CHECK(f.ledger.admission().of_user("u") == 1);  // app's only
        CHECK(sample(f.text(), R"(tether_rejected_connections_total{client="tool",limit="user",user="u"})") == 1.0);
        // Open under its new labels until the close the refusal brings.
        CHECK(f.open_series("tool", "u") == 1);
        CHECK(f.open_series("app", "u") == 1);
        CHECK_FALSE(f.close(dba, CloseReason::rejected).orphan);
        CHECK(f.open_series("tool", "u") == 0);
        CHECK(f.ledger.admission().of_user("u") == 1);
        f.close(app);
    }
    f.check_all_released();
}

TEST_CASE("Change of user capped -> capped: the old charge is released before the new one is decided") {
    LedgerFixture f(Caps{.per_client = 1, .per_user = 1});
    SessionAccount a;
    REQUIRE(f.open(a, "u1", "app").allowed);

    // The same client at its cap of 1: the session's own old charge must not count against it.
    const auto verdict = f.change_user(a, "u2", "app");
    CHECK(verdict.allowed);
    CHECK(a.charged());
    CHECK(a.user() == "u2");
    CHECK(f.ledger.admission().total() == 1);
    CHECK(f.ledger.admission().of_client("app") == 1);
    CHECK(f.ledger.admission().of_user("u1") == 0);
    CHECK(f.ledger.admission().of_user("u2") == 1);
    CHECK(f.open_series("app", "u1") == 0);
    CHECK(f.open_series("app", "u2") == 1);
    CHECK(sample(f.text(), R"(tether_connections_opened_total{client="app",user="u2"})") == 1.0);

    // And back again, twice over: still one charge, one open series.
    REQUIRE(f.change_user(a, "u1", "app").allowed);
    REQUIRE(f.change_user(a, "u1", "app").allowed);
    CHECK(f.ledger.admission().total() == 1);
    CHECK(f.ledger.admission().of_user("u1") == 1);
    CHECK(f.open_series("app", "u1") == 1);
    CHECK(f.open_series("app", "u2") == 0);

    f.close(a);
    f.check_all_released();
}

TEST_CASE("Change of user to another client over its cap is refused; the old client's place is free") {
    LedgerFixture f(Caps{.per_client = 1});
    SessionAccount other;
    REQUIRE(f.open(other, "v", "batch").allowed);
    SessionAccount a;
    REQUIRE(f.open(a, "u", "app").allowed);
    const auto verdict = f.change_user(a, "u", "batch");
    CHECK_FALSE(verdict.allowed);
    CHECK(verdict.limit == Limit::client);
    CHECK(f.ledger.admission().of_client("app") == 0);
    CHECK(f.ledger.admission().of_client("batch") == 1);
    f.close(a, CloseReason::rejected);
    f.close(other);
    f.check_all_released();
}

TEST_CASE("A reattribution keeps the labels it moves to held, so the old ones go at the sweep") {
    LedgerFixture f;
    SessionAccount a;
    REQUIRE(f.open(a, "u", "app").allowed);
    REQUIRE(f.change_user(a, "v", "app").allowed);
    f.metrics.sweep(t0 + std::chrono::seconds(1));
    const auto text = f.text();
    CHECK_FALSE(sample(text, R"(tether_connections_opened_total{client="app",user="u"})").has_value());
    CHECK(sample(text, R"(tether_connections_opened_total{client="app",user="v"})") == 1.0);
    f.close(a);
    f.check_all_released();
}

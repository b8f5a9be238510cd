// SessionLedger: a session may end in any phase of its life; its close undoes
// exactly what was done up to there, and a second close nothing.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "exposition.hpp"
#include "ledger_fixture.hpp"

using tether::ledger::SessionAccount;
using tether::ledger::test::Caps;
using tether::ledger::test::LedgerFixture;
using tether::ledger::test::peer;
using tether::metrics::test::sample;
using tether::session::CloseReason;

namespace {

struct Phase {
    const char* name;
    std::function<void(LedgerFixture&, SessionAccount&)> reach;
    bool holds_slot;   // a handshake slot to give back at the close
    bool open;         // counted open: an orphan if its client vanished
};

void login(LedgerFixture& f, SessionAccount& a, const std::string& user) {
    f.ledger.handshake_started(a, peer);
    f.ledger.login_received(a, LedgerFixture::login(user, "app"), peer);
}

const std::vector<Phase>& phases() {
    static const std::vector<Phase> all = {
        {"accepted, never given a slot (refused or waiting)", [](LedgerFixture&, SessionAccount&) {}, false, false},
        {"holding a slot, before its login",
         [](LedgerFixture& f, SessionAccount& a) { f.ledger.handshake_started(a, peer); }, true, false},
        {"login received, not decided yet", [](LedgerFixture& f, SessionAccount& a) { login(f, a, "u"); }, true, false},
        {"admitted, before the server's OK",
         [](LedgerFixture& f, SessionAccount& a) {
             login(f, a, "u");
             REQUIRE(f.ledger.admit(a).allowed);
         },
         true, false},
        {"refused by a cap",
         [](LedgerFixture& f, SessionAccount& a) {
             login(f, a, "capped");  // the cap's only place is taken by the fixture's other session
             REQUIRE_FALSE(f.ledger.admit(a).allowed);
         },
         true, false},
        {"authenticated",
         [](LedgerFixture& f, SessionAccount& a) { REQUIRE(f.open(a, "u", "app").allowed); }, false, true},
        {"after a change of user",
         [](LedgerFixture& f, SessionAccount& a) {
             REQUIRE(f.open(a, "u", "app").allowed);
             REQUIRE(f.change_user(a, "v", "app").allowed);
         },
         false, true},
        {"after a change of user to an admin",
         [](LedgerFixture& f, SessionAccount& a) {
             REQUIRE(f.open(a, "u", "app").allowed);
             REQUIRE(f.change_user(a, "root", "app").allowed);
         },
         false, true},
        {"after a change of user refused by a cap",
         [](LedgerFixture& f, SessionAccount& a) {
             REQUIRE(f.open(a, "u", "app").allowed);
             REQUIRE_FALSE(f.change_user(a, "capped", "app").allowed);
         },
         false, true},
        {"after an auth failure",
         [](LedgerFixture& f, SessionAccount& a) {
             login(f, a, "u");
             REQUIRE(f.ledger.admit(a).allowed);
             f.ledger.auth_failed(a);
         },
         true, false},
    };
    return all;
}

}  // namespace

TEST_CASE("A close at every phase undoes exactly what was done, once") {
    for (const auto& phase : phases()) {
        for (const auto reason : {CloseReason::client_closed, CloseReason::admin}) {
            CAPTURE(phase.name);
            CAPTURE(std::string(tether::session::close_reason_name(reason)));
            LedgerFixture f(Caps{.per_user = 1});
            // Another session that fills user "capped"'s only place and must stay counted throughout.
            SessionAccount other;
            REQUIRE(f.open(other, "capped", "other").allowed);
            SessionAccount a;
            phase.reach(f, a);

            const auto closed = f.close(a, reason);
            CHECK(closed.handshake_slot_freed == phase.holds_slot);
            CHECK(closed.orphan == (phase.open && reason == CloseReason::client_closed));
            const auto twice = f.close(a, reason);
            CHECK_FALSE(twice.handshake_slot_freed);
            CHECK_FALSE(twice.orphan);

            CHECK(f.ledger.admission().total() == 1);  // only the other session's charge
            CHECK(f.ledger.admission().of_user("capped") == 1);
            CHECK(f.ledger.handshakes().open() == 0);
            CHECK(f.open_series("other", "capped") == 1);
            const auto text = f.text();
            CHECK(sample(text, std::string(R"(tether_connections_closed_total{reason=")") +
                                   std::string(tether::session::close_reason_name(reason)) + "\"}") == 1.0);
            CHECK(sample(text, "tether_orphans_closed_total") == (closed.orphan ? 1.0 : 0.0));

            f.close(other, CloseReason::client_quit);
            f.check_all_released();
        }
    }
}

TEST_CASE("Events after the close change nothing") {
    LedgerFixture f;
    SessionAccount a;
    REQUIRE(f.open(a, "u", "app").allowed);
    f.close(a);
    // A late event on a closed session (none is expected): still nothing counted.
    f.ledger.reattributed(a, LedgerFixture::login("v", "app"), peer, tether::ledger::test::t0);
    (void)f.ledger.admit(a);
    CHECK_FALSE(f.ledger.authenticated(a, peer));
    f.ledger.auth_failed(a);
    CHECK_FALSE(a.charged());
    CHECK_FALSE(a.counted_open());
    f.check_all_released();
}

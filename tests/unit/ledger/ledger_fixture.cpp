// The ledger tests' fixture (see ledger_fixture.hpp).
#include "ledger_fixture.hpp"

#include <doctest/doctest.h>

#include "exposition.hpp"

namespace tether::ledger::test {

namespace {

LedgerConfig config_of(const Caps& caps) {
    LedgerConfig c;
    c.connection_limits.total = caps.total;
    c.connection_limits.per_client = caps.per_client;
    c.connection_limits.per_user = caps.per_user;
    c.connection_limits.admin_users = {"root"};
    c.handshake_limits.total = caps.handshakes;
    c.handshake_limits.per_address = caps.handshakes_per_address;
    c.server_reserve = caps.server_reserve;
    std::string error;
    c.label_rules = *attribution::parse_label_rules("attr:program_name,user,addr", error);
    return c;
}

}  // namespace

// A linger of 0: a series no session holds goes at the next sweep, so the
// tests can see that every held label was released.
LedgerFixture::LedgerFixture(Caps caps)
    : metrics(metrics::test::config_with(std::chrono::seconds(0))), ledger(config_of(caps), metrics) {}

codec::Login LedgerFixture::login(const std::string& user, const std::string& program) {
    codec::Login l;
    l.user = user;
    if (!program.empty()) l.attributes.emplace_back("program_name", program);
    return l;
}

attribution::AdmissionVerdict LedgerFixture::open(SessionAccount& account, const std::string& user,
                                                  const std::string& program) {
    ledger.handshake_started(account, peer);
    ledger.login_received(account, login(user, program), peer);
    auto verdict = ledger.admit(account);
    if (verdict.allowed) CHECK(ledger.authenticated(account, peer));
    return verdict;
}

attribution::AdmissionVerdict LedgerFixture::change_user(SessionAccount& account, const std::string& user,
                                                         const std::string& program) {
    ledger.reattributed(account, login(user, program), peer, t0);
    return ledger.admit(account);
}

ClosedAccount LedgerFixture::close(SessionAccount& account, session::CloseReason reason) {
    return ledger.closed(account, reason, 1.5, peer, t0);
}

double LedgerFixture::open_series(const std::string& client, const std::string& user) {
    return metrics::test::sample(text(), "tether_client_connections{client=\"" + client + "\",user=\"" + user + "\"}")
        .value_or(0.0);
}

void LedgerFixture::check_all_released() {
    CHECK(ledger.admission().total() == 0);
    CHECK(ledger.handshakes().open() == 0);
    CHECK(ledger.handshakes().addresses() == 0);
    const std::string before_sweep = text();
    CHECK_FALSE(metrics::test::any_sample(before_sweep, "tether_client_connections{"));
    metrics.sweep(t0 + std::chrono::seconds(1));
    const std::string after = text();
    CHECK_FALSE(metrics::test::any_sample(after, "tether_connections_opened_total{"));
    CHECK_FALSE(metrics::test::any_sample(after, "tether_auth_failures_total{"));
}

}  // namespace tether::ledger::test

// A SessionLedger over a real Metrics registry, and the checks every ledger
// test ends with: nothing left counted once every session has closed.
#pragma once

#include <chrono>
#include <string>

#include "tether/codec/handshake.hpp"
#include "tether/ledger/session_ledger.hpp"
#include "tether/metrics/metrics.hpp"

namespace tether::ledger::test {

inline const metrics::Clock::time_point t0 = metrics::Clock::time_point{} + std::chrono::seconds(1'000'000);
inline const std::string peer = "10.0.0.7";

struct Caps {
    std::size_t total = 0;
    std::size_t per_client = 0;
    std::size_t per_user = 0;
    std::size_t handshakes = 0;
    std::size_t handshakes_per_address = 0;
    std::size_t server_reserve = 0;
};

// Labels resolve by "attr:program_name,user,addr"; "root" is the admin user.
struct LedgerFixture {
    explicit LedgerFixture(Caps caps = {});

    // A login as `user` from a program named `program` (empty: no attribute).
    static codec::Login login(const std::string& user, const std::string& program);
    // The usual path up to an open session: slot, login, admitted, authenticated.
    attribution::AdmissionVerdict open(SessionAccount& account, const std::string& user, const std::string& program);
    // A change of user accepted by the server, then the caps' decision on it.
    attribution::AdmissionVerdict change_user(SessionAccount& account, const std::string& user, const std::string& program);
    ClosedAccount close(SessionAccount& account, session::CloseReason reason = session::CloseReason::client_closed);

    [[nodiscard]] std::string text() { return metrics.render(); }
    // tether_client_connections{client=,user=}, 0 when the series is absent.
    [[nodiscard]] double open_series(const std::string& client, const std::string& user);
    // No charge, no handshake slot, no open-session series, and (after the
    // linger, 0 here) no series whose labels a session still holds.
    void check_all_released();

    metrics::Metrics metrics;
    SessionLedger ledger;
};

}  // namespace tether::ledger::test

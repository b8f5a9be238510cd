// The accounting of every session: handshake slots, admission charges, labels
// and metric series, moved by the session's life events and undone at its close.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tether/attribution/admission.hpp"
#include "tether/attribution/client_label.hpp"
#include "tether/attribution/handshake_gate.hpp"
#include "tether/attribution/server_reserve.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/ledger/session_account.hpp"
#include "tether/metrics/metrics.hpp"
#include "tether/session/close_reason.hpp"
#include "tether/session/session.hpp"

namespace tether::ledger {

struct LedgerConfig {
    attribution::ConnectionLimits connection_limits;
    attribution::HandshakeLimits handshake_limits;
    std::vector<attribution::LabelRule> label_rules;
    std::size_t server_reserve = 0;  // --server-reserve; 0: off
};

// What closed() did that its caller reports on.
struct ClosedAccount {
    bool handshake_slot_freed = false;  // a waiting connection may have the slot now
    // An authenticated session ended because its client vanished: the leak
    // tether exists for (counted as tether_orphans_closed_total).
    bool orphan = false;
};

// Entry points are the session's life events, in the order they happen:
//   handshake_started -> login_received -> admit -> authenticated
//     [-> reattributed -> admit]* -> closed
// with auth_failed in place of authenticated, and closed possible after any
// of them (or before all). Each step records in the SessionAccount what it did;
// closed() undoes exactly that, once; a second closed() is a no-op. Time comes
// in as an argument; nothing here does I/O or logs: the owner writes the lines.
class SessionLedger {
public:
    SessionLedger(LedgerConfig config, metrics::Metrics& metrics);
    SessionLedger(const SessionLedger&) = delete;
    SessionLedger& operator=(const SessionLedger&) = delete;

    // Accept: may a connection from `address` (its IP; empty on a unix socket)
    // take a handshake slot now? Refused: it waits for one, or is refused.
    [[nodiscard]] attribution::AdmissionVerdict handshake_verdict(const std::string& address) const;
    // It takes one (at accept, or when its wait ends with a slot). `address`
    // is the one every later call for this account passes (the slot is
    // counted under it; the account does not keep a copy).
    void handshake_started(SessionAccount& account, const std::string& address);
    // For the handshake queue, which hands a freed slot to an admissible waiter.
    [[nodiscard]] const attribution::HandshakeGate& handshakes() const { return handshakes_; }

    // The login is decoded: its client label is resolved (--client-label
    // rules over the login and the peer's address) and held in the metrics.
    void login_received(SessionAccount& account, const codec::Login& login, std::string_view peer_address);
    // The server accepted a COM_CHANGE_USER: the old identity's charge is
    // released, and the labels (with the open-session series) move to the new
    // identity. admit() then decides and charges it like a login.
    void reattributed(SessionAccount& account, const codec::Login& login, std::string_view peer_address,
                      metrics::Clock::time_point now);
    // The caps' decision on the identity the last login_received or
    // reattributed recorded, asked for by the session (Session::admit,
    // Session::admit_change_user). Allowed: charged, unless an admin user (the
    // admin lane is never charged). Refused: counted under its labels.
    [[nodiscard]] attribution::AdmissionVerdict admit(SessionAccount& account);
    // The server's OK to the login: counted as an open client connection, and
    // the handshake slot is given back. True when a slot freed.
    [[nodiscard]] bool authenticated(SessionAccount& account, const std::string& address);
    // The server refused the login (the session closes next).
    void auth_failed(SessionAccount& account);
    // The session ended, in any phase: undoes what the steps above did.
    ClosedAccount closed(SessionAccount& account, session::CloseReason reason, double age_seconds,
                         const std::string& address, metrics::Clock::time_point now);

    [[nodiscard]] const attribution::AdmissionControl& admission() const { return admission_; }
    // The monitor's read of the server (--server-reserve), or that it has none.
    void server_state(std::uint64_t threads_connected, std::uint64_t max_connections) {
        server_reserve_.on_server_state(threads_connected, max_connections);
    }
    void server_unknown() { server_reserve_.forget(); }
    [[nodiscard]] const attribution::ServerReserve& server_reserve() const { return server_reserve_; }

private:
    bool give_back_handshake(SessionAccount& account, const std::string& address);
    void release_charge(SessionAccount& account);
    void attribute(SessionAccount& account, const codec::Login& login, std::string_view peer_address);

    std::vector<attribution::LabelRule> label_rules_;
    attribution::AdmissionControl admission_;
    attribution::HandshakeGate handshakes_;
    attribution::ServerReserve server_reserve_;
    metrics::Metrics& metrics_;
};

// What a refusal (by a cap at login, or at accept) tells the client: the one
// place a verdict becomes the session's answer.
session::Admission admission_of(const attribution::AdmissionVerdict& verdict);

}  // namespace tether::ledger

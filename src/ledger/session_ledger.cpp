// A session's accounting, step by step (see session_ledger.hpp).
#include "tether/ledger/session_ledger.hpp"

#include <cassert>

namespace tether::ledger {

SessionLedger::SessionLedger(LedgerConfig config, metrics::Metrics& metrics)
    : label_rules_(std::move(config.label_rules)),
      admission_(std::move(config.connection_limits)),
      handshakes_(config.handshake_limits),
      server_reserve_(config.server_reserve),
      metrics_(metrics) {}

attribution::AdmissionVerdict SessionLedger::handshake_verdict(const std::string& address) const {
    return handshakes_.decide(address);
}

void SessionLedger::handshake_started(SessionAccount& account, const std::string& address) {
    assert(!account.in_handshake_ && "one handshake slot per session");
    if (account.in_handshake_ || account.closed_) return;
    handshakes_.enter(address);
    account.in_handshake_ = true;
}

bool SessionLedger::give_back_handshake(SessionAccount& account, const std::string& address) {
    if (!account.in_handshake_) return false;
    account.in_handshake_ = false;
    handshakes_.leave(address);
    return true;
}

void SessionLedger::release_charge(SessionAccount& account) {
    if (!account.charged_) return;
    account.charged_ = false;
    admission_.release(account.client_, account.user_);
}

// Resolves and holds the labels of `login`, and records its identity for the
// caps. Labels are held before the old ones are released, so a series the
// session keeps (same labels) never drops out of the budget in between.
void SessionLedger::attribute(SessionAccount& account, const codec::Login& login, std::string_view peer_address) {
    account.client_ = attribution::resolve_client_label(label_rules_, login, peer_address);
    account.user_ = login.user;
    account.labels_ = metrics_.hold_labels(account.client_, attribution::clean_label_value(login.user));
    account.has_labels_ = true;
}

void SessionLedger::login_received(SessionAccount& account, const codec::Login& login, std::string_view peer_address) {
    assert(!account.has_labels_ && "one login per session; a change of user is reattributed()");
    if (account.closed_ || account.has_labels_) return;  // the labels it holds are released once, at its close
    attribute(account, login, peer_address);
}

void SessionLedger::reattributed(SessionAccount& account, const codec::Login& login, std::string_view peer_address,
                                 metrics::Clock::time_point now) {
    if (account.closed_) return;
    release_charge(account);  // admit() charges the new identity (unless an admin user)
    if (!account.has_labels_) return attribute(account, login, peer_address);
    const metrics::SessionLabels old = account.labels_;
    attribute(account, login, peer_address);
    if (account.counted_open_) {
        metrics_.session_ended_open(old);
        metrics_.session_opened(account.labels_);
    }
    metrics_.release_labels(old, now);
}

attribution::AdmissionVerdict SessionLedger::admit(SessionAccount& account) {
    assert(account.has_labels_ && !account.charged_ && "admit() follows login_received() or reattributed()");
    attribution::AdmissionVerdict verdict = admission_.decide(account.client_, account.user_);
    // The caps first (they name the culprit), then the server's own room.
    if (verdict.allowed && !verdict.admin) {
        if (auto server = server_reserve_.decide(false); !server.allowed) verdict = std::move(server);
    }
    // Never charged twice, nor after the end: closed() could not undo it.
    if (account.charged_ || account.closed_) return verdict;
    if (!verdict.allowed) {
        metrics_.rejected(account.labels_, attribution::limit_name(verdict.limit));
        return verdict;
    }
    if (!verdict.admin) {
        admission_.charge(account.client_, account.user_);
        account.charged_ = true;
        server_reserve_.admitted();
    }
    return verdict;
}

bool SessionLedger::authenticated(SessionAccount& account, const std::string& address) {
    if (account.closed_) return false;
    if (!account.counted_open_ && account.has_labels_) {
        account.counted_open_ = true;
        metrics_.session_opened(account.labels_);
    }
    return give_back_handshake(account, address);
}

void SessionLedger::auth_failed(SessionAccount& account) {
    if (account.closed_) return;
    metrics_.auth_failed(account.labels_);
}

ClosedAccount SessionLedger::closed(SessionAccount& account, session::CloseReason reason, double age_seconds,
                                    const std::string& address, metrics::Clock::time_point now) {
    ClosedAccount out;
    if (account.closed_) return out;
    account.closed_ = true;
    out.handshake_slot_freed = give_back_handshake(account, address);
    metrics_.session_closed(reason, age_seconds);
    if (account.counted_open_) {
        account.counted_open_ = false;
        metrics_.session_ended_open(account.labels_);
        out.orphan = reason == session::CloseReason::client_closed;
        if (out.orphan) metrics_.orphan_closed();
    }
    // The labels stay readable for the session's last log line; closed_ keeps
    // them from being released twice.
    if (account.has_labels_) metrics_.release_labels(account.labels_, now);
    release_charge(account);
    return out;
}

session::Admission admission_of(const attribution::AdmissionVerdict& verdict) {
    if (verdict.allowed) return session::Admission::allow();
    return session::Admission::refuse(verdict.error_code, verdict.sql_state, verdict.message);
}

}  // namespace tether::ledger

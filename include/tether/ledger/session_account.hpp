// One session's entry in the SessionLedger: what it is counted under and which
// of the ledger's steps are in effect for it, so closing undoes each exactly once.
#pragma once

#include <string>

#include "tether/metrics/metrics.hpp"

namespace tether::ledger {

class SessionLedger;

// A plain value held by the session's owner (io::Connection). Only the
// SessionLedger changes it: every flag is set by the step that did something
// and cleared by the one that undid it, so no step can be undone twice.
class SessionAccount {
public:
    // The metrics labels it is counted under (after the label budget), from its
    // login on; null before. Still readable after closed(), for its last log line.
    [[nodiscard]] const metrics::SessionLabels* labels() const { return has_labels_ ? &labels_ : nullptr; }
    // The client label for log lines: empty before the login.
    [[nodiscard]] const std::string& client_label() const { return labels_.client; }
    // The identity the caps decide and charge: the resolved client label
    // (before the budget, so two apps folded into "_other" are told apart)
    // and the login's user name as sent.
    [[nodiscard]] const std::string& client() const { return client_; }
    [[nodiscard]] const std::string& user() const { return user_; }

    [[nodiscard]] bool in_handshake() const { return in_handshake_; }  // holds a handshake slot
    [[nodiscard]] bool charged() const { return charged_; }            // counted in the caps
    [[nodiscard]] bool counted_open() const { return counted_open_; }  // authenticated: a client connection
    [[nodiscard]] bool closed() const { return closed_; }

private:
    friend class SessionLedger;

    metrics::SessionLabels labels_;
    std::string client_;
    std::string user_;
    bool has_labels_ = false;
    bool in_handshake_ = false;
    bool charged_ = false;
    bool counted_open_ = false;
    bool closed_ = false;
};

}  // namespace tether::ledger

// Connection caps that protect the server's max_connections, with a lane for admin users.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tether/attribution/key_counts.hpp"

namespace tether::attribution {

// total, client, user: a login over a connection cap. handshakes,
// handshakes_per_address: a connection refused at accept (handshake_gate.hpp).
enum class Limit : std::uint8_t { total, client, user, handshakes, handshakes_per_address, server };
std::string_view limit_name(Limit limit);

struct ConnectionLimits {
    std::size_t total = 0;       // 0: no cap
    std::size_t per_client = 0;  // 0: no cap
    std::size_t per_user = 0;    // 0: no cap
    // Never refused, never charged: a DBA can always get in to diagnose, even
    // when the app that fills the server logs in as root (the first incident).
    std::vector<std::string> admin_users;
};

struct AdmissionVerdict {
    bool allowed = true;
    bool admin = false;  // an admin user: admitted outside the caps
    Limit limit = Limit::total;
    std::uint16_t error_code = 0;
    std::string sql_state;
    std::string message;

    static AdmissionVerdict refused(Limit limit, std::uint16_t error_code, std::string sql_state, std::string message) {
        return {false, false, limit, error_code, std::move(sql_state), std::move(message)};
    }
};

// Counts the admitted sessions per client label and per user, and decides each
// login against the caps. The client label here is the resolved one, before the
// metrics' cardinality budget, so two apps folded into "_other" are still told apart.
class AdmissionControl {
public:
    explicit AdmissionControl(ConnectionLimits limits) : limits_(std::move(limits)) {}

    [[nodiscard]] AdmissionVerdict decide(const std::string& client, const std::string& user) const;
    // Charge an admitted session; release() undoes it when the session ends.
    void charge(const std::string& client, const std::string& user);
    void release(const std::string& client, const std::string& user);

    [[nodiscard]] bool is_admin(const std::string& user) const;
    [[nodiscard]] std::size_t total() const { return total_; }
    [[nodiscard]] std::size_t of_client(const std::string& client) const;
    [[nodiscard]] std::size_t of_user(const std::string& user) const;

private:
    ConnectionLimits limits_;
    std::size_t total_ = 0;
    KeyCounts per_client_;
    KeyCounts per_user_;
};

}  // namespace tether::attribution

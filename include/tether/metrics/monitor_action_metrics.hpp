// What tether does to and learns of the server through its monitor session:
// the KILLs of orphaned queries, and who holds the server's connections.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tether/metrics/metrics.hpp"

namespace tether::metrics {

class MonitorActionMetrics {
public:
    // `max_users`: distinct user label values of tether_server_connections
    // (--max-client-labels); the users past it are summed as user="_other".
    MonitorActionMetrics(Metrics& metrics, std::size_t max_users);
    ~MonitorActionMetrics();
    MonitorActionMetrics(const MonitorActionMetrics&) = delete;
    MonitorActionMetrics& operator=(const MonitorActionMetrics&) = delete;

    void orphaned_query_killed();
    void orphaned_query_kill_failed();
    // The server's connections by user, from its processlist: replaces the
    // last snapshot (a user gone from it loses its series).
    void set_connections_by_user(const std::vector<std::pair<std::string, std::uint64_t>>& counts);
    // The monitor lost the server: the per-user series go (they would be stale).
    void clear_connections_by_user();

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace tether::metrics

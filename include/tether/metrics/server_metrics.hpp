// The server's own figures as the monitor session read them, and whether it
// is up: exported only when a --monitor-user is configured.
#pragma once

#include <cstdint>
#include <string>

namespace tether::metrics {

struct ServerFigures {
    std::uint64_t threads_connected = 0;
    std::uint64_t max_connections = 0;
    std::uint64_t aborted_clients = 0;
    std::uint64_t aborted_connects = 0;
};

class ServerMetrics {
public:
    void set_up(bool up) { up_ = up; }
    // A successful read; exported from now on (until the monitor is down).
    void set_figures(const ServerFigures& figures) {
        figures_ = figures;
        known_ = true;
    }

    // tether_monitor_up always; the server's figures while the monitor is up
    // and has read them (a stale value would be read as the server's present).
    // The aborted counters are the server's own: they start again from 0 when
    // the server restarts, which Prometheus' rate() takes as a counter reset.
    [[nodiscard]] std::string render() const;

private:
    bool up_ = false;
    bool known_ = false;
    ServerFigures figures_;
};

}  // namespace tether::metrics

// GET /status over the running proxy (Proxy::status, see proxy.hpp), and the
// janitor's samples for its chart.
#include <chrono>
#include <map>

#include "tether/io/proxy.hpp"

namespace tether::io {

namespace {

std::uint64_t whole(double count) { return count > 0 ? static_cast<std::uint64_t>(count + 0.5) : 0; }

}  // namespace

void Proxy::sample_history(session::Clock::time_point now) {
    // Per client over its users: the chart is per client. Bounded by the label budget.
    std::map<std::string, std::uint64_t, std::less<>> per_client;
    for (const auto& pair : metrics_.pair_statuses()) {
        if (pair.open > 0) per_client[pair.client] += whole(pair.open);
    }
    std::vector<std::pair<std::string, std::uint64_t>> counts(per_client.begin(), per_client.end());
    const auto unix_now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    history_.record(now, unix_now.count(), std::move(counts));
}

admin::StatusSnapshot Proxy::status() {
    admin::StatusSnapshot s;
    s.version = TETHER_VERSION;
    s.ready = ready();
    if (!s.ready) s.not_ready_reason = not_ready_reason();
    s.upstream.address = config_.upstream.text;
    if (monitor_.configured()) {
        s.upstream.monitor_up = monitor_.up();
        // Only a reading of the server's present: while the monitor is down its last one is stale.
        const ServerState& state = monitor_.server_state();
        if (monitor_.up() && state.known) {
            s.upstream.server_threads_connected = state.threads_connected;
            s.upstream.server_max_connections = state.max_connections;
        }
    }
    s.sessions = connections_.size();
    s.leak_idle_threshold_seconds = std::chrono::duration<double>(config_.leak_idle_threshold).count();
    s.caps = {config_.max_connections, config_.max_connections_per_client, config_.max_connections_per_user};
    s.clients = metrics_.pair_statuses();
    for (const auto& pair : s.clients) s.suspects += whole(pair.suspects);
    s.history = &history_;
    return s;
}

}  // namespace tether::io

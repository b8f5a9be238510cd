// What tether does through its monitor session (see proxy.hpp): KILL the
// server threads of sessions it ended under a running command, feed the
// server reserve, and read who holds the server's connections.
#include <algorithm>
#include <string>

#include "tether/io/proxy.hpp"
#include "tether/util/log.hpp"

namespace tether::io {

namespace {

// A reading older than this many intervals is not the server's present (the
// monitor is down or stuck): the reserve refuses nothing on it.
constexpr int stale_after_intervals = 3;

constexpr const char* connections_by_user_sql =
    "SELECT USER, COUNT(*) FROM information_schema.PROCESSLIST GROUP BY USER";

}  // namespace

void Proxy::start_monitor_actions() {
    if (!monitor_.configured()) return;
    monitor_actions_ = std::make_unique<metrics::MonitorActionMetrics>(metrics_, config_.max_client_labels);
    monitor_.on_server_state([this](const ServerState& state) { on_server_read(state); });
}

// Once, after tether closed that session: its thread id is the one the
// server's greeting gave this session, so no other session's thread is killed.
void Proxy::kill_orphaned_query(const Connection& connection) {
    const auto& s = connection.session();
    const std::uint32_t thread = s.upstream_thread_id();
    if (!monitor_.configured() || !config_.kill_orphaned_queries.value_or(false) || thread == 0 || connection.is_probe()) {
        return;
    }
    const std::string id = std::to_string(connection.id());
    const std::string client = connection.account().client_label();
    const std::string user = s.login() != nullptr ? s.login()->user : std::string();
    ++kills_in_flight_;
    monitor_.kill(thread, [this, id, client, user, thread](bool ok, std::uint16_t code, std::string message) {
        --kills_in_flight_;
        report_kill(id, client, user, thread, ok, code, message);
        maybe_stop();
    });
}

void Proxy::report_kill(const std::string& id, const std::string& client, const std::string& user, std::uint32_t thread,
                        bool ok, std::uint16_t code, const std::string& message) {
    if (ok) {
        if (monitor_actions_) monitor_actions_->orphaned_query_killed();
        log::info("orphaned_query_killed", {{"id", id}, {"client", client}, {"user", user},
                                            {"upstream_thread_id", std::to_string(thread)}});
        return;
    }
    // 1094 (unknown thread): it ended by itself meanwhile; nothing was left running.
    if (code == 1094) {
        log::debug("orphaned_query_gone", {{"id", id}, {"upstream_thread_id", std::to_string(thread)}});
        return;
    }
    // Logged and counted, never retried: a missing privilege stays missing.
    if (monitor_actions_) monitor_actions_->orphaned_query_kill_failed();
    log::warn("orphaned_query_kill_failed", {{"id", id}, {"client", client}, {"user", user},
                                             {"upstream_thread_id", std::to_string(thread)},
                                             {"error", code != 0 ? std::to_string(code) + " " + message : message}});
}

void Proxy::on_server_read(const ServerState& state) {
    ledger_.server_state(state.threads_connected, state.max_connections);
    if (!config_.server_connections_by_user || by_user_query_running_) return;
    by_user_query_running_ = true;
    monitor_.query(connections_by_user_sql, [this](bool ok, const MonitorLink::Rows& rows, std::string error) {
        by_user_query_running_ = false;
        if (!monitor_actions_) return;
        if (!ok) {
            log::debug("server_connections_by_user_failed", {{"error", error}});
            return;
        }
        std::vector<std::pair<std::string, std::uint64_t>> counts;
        counts.reserve(rows.size());
        for (const auto& row : rows) {
            if (row.size() < 2 || !row[1]) continue;
            // A connection still logging in has no user yet: NULL, shown as "".
            counts.emplace_back(row[0].value_or(std::string()), std::strtoull(row[1]->c_str(), nullptr, 10));
        }
        monitor_actions_->set_connections_by_user(counts);
    });
}

// The reserve decides only on a reading of the server's present.
void Proxy::check_server_reading(session::Clock::time_point now) {
    if (!monitor_.configured()) return;
    const ServerState& state = monitor_.server_state();
    const bool fresh = monitor_.up() && state.known && now - state.read_at <= stale_after_intervals * config_.monitor.interval;
    if (fresh) return;
    ledger_.server_unknown();
    if (monitor_actions_) monitor_actions_->clear_connections_by_user();
}

}  // namespace tether::io

// Every Prometheus series tether exports, and the session events that move them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tether/session/close_reason.hpp"
#include "tether/session/desync_reason.hpp"

namespace prometheus {
class Registry;
}

namespace tether::metrics {

using Clock = std::chrono::steady_clock;

struct PairSeries;  // the metrics layer's own record of a client/user pair

// The labels one session is counted under, after the cardinality budget.
struct SessionLabels {
    std::string client;
    std::string user;
    // The pair's record as hold_labels() found it, so the session's later steps
    // skip the lookup. It lives while any session holds the labels; null on
    // labels that hold_labels() did not return (they are looked up).
    PairSeries* series = nullptr;
};

struct MetricsConfig {
    std::size_t max_client_labels = 100;
    // How long the counters of a client/user pair outlive its last session,
    // so scrapes see their final values before the series go away.
    std::chrono::seconds series_linger{15 * 60};
    std::string version;
    // The configured caps, exported as tether_connection_limit{limit}: "total",
    // "client", "user" (the limits of tether_rejected_connections_total),
    // "handshakes", "handshakes_per_address". Only caps that are set (not 0).
    std::vector<std::pair<std::string, double>> connection_limits;
};

// What the status page shows of one client/user pair: the figures behind its
// series, read without rendering them.
struct PairStatus {
    std::string client;
    std::string user;
    double open = 0;
    double suspects = 0;
    double idle_in_transaction = 0;
    double max_idle_seconds = 0;
    double rejected = 0;  // tether_rejected_connections_total summed over the limits
};

// Owns the prometheus-cpp registry (only this layer includes prometheus-cpp).
// Per-client series live as long as a session holds their labels, plus the
// linger; tether_client_connections is removed the moment it reaches zero.
class Metrics {
public:
    explicit Metrics(MetricsConfig config);
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // A session's login arrived: resolve its labels against the budget and hold them.
    SessionLabels hold_labels(const std::string& client, const std::string& user);
    // The session no longer uses these labels (it ended, or was re-attributed).
    void release_labels(const SessionLabels& labels, Clock::time_point now);

    void session_opened(const SessionLabels& labels);   // authenticated: counts as a client connection
    void session_ended_open(const SessionLabels& labels);  // an authenticated session ended
    void auth_failed(const SessionLabels& labels);
    void session_closed(session::CloseReason reason, double duration_seconds);
    void orphan_closed();
    void desynced(session::DesyncReason reason);
    void upstream_opened();
    void upstream_closed();
    // The server answered with an ERR instead of its greeting; its code, if the ERR could be read.
    void upstream_refused(std::optional<std::uint16_t> code);
    // A TLS handshake that failed, or a server certificate that was not
    // trusted: side client|upstream, reason from the tls layer's closed set.
    void tls_handshake_failed(std::string_view side, std::string_view reason);
    // A login refused by a cap; `limit` is "total", "client" or "user".
    void rejected(const SessionLabels& labels, std::string_view limit);
    // A connection refused at accept, before any login (client and user are
    // not known yet: exported empty); `limit` is "handshakes" or "handshakes_per_address".
    void rejected_at_accept(std::string_view limit);
    // A connection over the handshake caps started waiting for a slot / stopped
    // waiting (admitted, refused, or gone).
    void handshake_queue_joined();
    void handshake_queue_left();
    // accept() failed; `error` is the errno name (EMFILE: out of file descriptors).
    void accept_failed(std::string_view error);
    // The leak scan's figures for a pair with open sessions.
    void set_leak_stats(const SessionLabels& labels, double suspects, double max_idle_seconds,
                        double idle_in_transaction);

    // Drops lingering series whose labels no session holds.
    void sweep(Clock::time_point now);

    // The text exposition format, with process metrics read now.
    std::string render();

    [[nodiscard]] double client_connections(const SessionLabels& labels) const;
    // Every pair with open sessions or rejections while its series live (so
    // as bounded as the label budget), sorted by client, then user.
    [[nodiscard]] std::vector<PairStatus> pair_statuses() const;

    // For the metrics layer's other families (server_metrics.hpp): the one registry /metrics renders.
    [[nodiscard]] prometheus::Registry& registry();

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace tether::metrics

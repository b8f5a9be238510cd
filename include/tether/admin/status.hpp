// GET /status (the status page's data) and the page's own files, GET /,
// /status.js and /status.css, embedded into the binary at build time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/attribution/connection_history.hpp"
#include "tether/metrics/metrics.hpp"

namespace tether::admin {

struct UpstreamStatus {
    std::string address;  // as configured (--upstream)
    // Without a --monitor-user there is no monitor and no reading of the server: null.
    std::optional<bool> monitor_up;
    std::optional<std::uint64_t> server_threads_connected;
    std::optional<std::uint64_t> server_max_connections;
};

// The caps (--max-connections, -per-client, -per-user); 0: no cap.
struct StatusCaps {
    std::uint64_t total = 0;
    std::uint64_t client = 0;
    std::uint64_t user = 0;
};

// One GET /status answer, read from the proxy on the loop and serialized at once.
struct StatusSnapshot {
    std::string version;
    bool ready = false;
    std::string not_ready_reason;  // only when not ready
    UpstreamStatus upstream;
    std::uint64_t sessions = 0;  // client connections, in any phase
    std::uint64_t suspects = 0;
    // --leak-idle-threshold: the page marks sessions idle this long as suspects
    // where /connections does not say so itself.
    double leak_idle_threshold_seconds = 0;
    StatusCaps caps;
    std::vector<metrics::PairStatus> clients;
    // The proxy's own ring, not a copy (an hour of samples): valid while the
    // answer is built, which happens before the loop runs anything else.
    const attribution::ConnectionHistory* history = nullptr;
};

// `since`: only the history samples taken after that unix time (the page
// asks for what it has not seen: a full ring at 1s with long labels is megabytes).
std::string status_json(const StatusSnapshot& status, std::int64_t since = 0);

// The page's files (status_page/*, made into string constants by embed.py).
namespace status_page {
extern const std::string_view index_html;
extern const std::string_view status_js;
extern const std::string_view status_css;
}  // namespace status_page

}  // namespace tether::admin

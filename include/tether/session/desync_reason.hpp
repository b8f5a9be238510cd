// Why the command tracker stopped following a session: a small fixed set, so it
// can be a metric label (the detailed text goes to the log).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace tether::session {

enum class DesyncReason : std::uint8_t {
    pipeline_limit,       // more commands in flight than the tracker keeps (CommandTracker::max_in_flight)
    unsupported_command,  // a command whose response tether cannot follow (replication, COM_MULTI, clone)
    client_packet,        // a client packet that is no command where a command must start
    server_packet,        // a server packet that does not fit the response of the command in flight
    abandoned,            // the session gave up on tracking (e.g. too much client data during the login)
};

inline constexpr std::array<DesyncReason, 5> all_desync_reasons = {
    DesyncReason::pipeline_limit, DesyncReason::unsupported_command, DesyncReason::client_packet,
    DesyncReason::server_packet,  DesyncReason::abandoned,
};

constexpr std::string_view desync_reason_name(DesyncReason reason) {
    switch (reason) {
        case DesyncReason::pipeline_limit: return "pipeline_limit";
        case DesyncReason::unsupported_command: return "unsupported_command";
        case DesyncReason::client_packet: return "client_packet";
        case DesyncReason::server_packet: return "server_packet";
        case DesyncReason::abandoned: return "abandoned";
    }
    return "unknown";
}

}  // namespace tether::session

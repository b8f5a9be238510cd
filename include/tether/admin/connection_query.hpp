// What GET /connections asks for: filters and a limit, parsed from the query
// string, so one request never costs more than `limit` rows of work.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "tether/session/session.hpp"

namespace tether::admin {

// The `state` of a session in /connections: "idle" or "query" in the command
// phase (is a command in flight), otherwise the phase's name ("authenticating",
// "relaying", ...).
std::string_view connection_state(session::Phase phase, bool command_in_flight);

struct ConnectionQuery {
    static constexpr std::size_t default_limit = 1000;
    static constexpr std::size_t max_limit = 10000;

    std::optional<std::string> client;  // the client label, exactly
    std::optional<std::string> user;    // the MySQL user, exactly
    std::optional<std::string> state;   // one of connection_state's names
    std::size_t limit = default_limit;  // rows answered, lowest ids first

    [[nodiscard]] bool matches(std::string_view row_client, std::string_view row_user,
                               std::string_view row_state) const;
};

// Parses "client=a&user=b&state=idle&limit=50" (percent-encoded; '+' is a
// space). Unknown or repeated parameters, an unknown state and a limit outside
// 1..max_limit are errors: nullopt, and `error` says which and why.
std::optional<ConnectionQuery> parse_connection_query(std::string_view query, std::string& error);

}  // namespace tether::admin

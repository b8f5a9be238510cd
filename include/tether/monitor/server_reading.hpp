// What the monitor reads from the server every --monitor-interval: the two
// queries it sends and how their rows become numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tether/monitor/monitor_session.hpp"

namespace tether::monitor {

// Two rows of (Variable_name, Value). SHOW ... WHERE works on MySQL 5.7, 8.x
// and MariaDB alike, and needs no privilege.
inline constexpr std::string_view global_status_query =
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected','Aborted_clients','Aborted_connects')";
// One row of two numbers (max_user_connections is 0 when unlimited).
inline constexpr std::string_view connection_limits_query = "SELECT @@max_connections, @@max_user_connections";

struct ServerReading {
    std::uint64_t threads_connected = 0;
    std::uint64_t aborted_clients = 0;
    std::uint64_t aborted_connects = 0;
    std::uint64_t max_connections = 0;
    std::uint64_t max_user_connections = 0;
};

// Fills the status fields from global_status_query's rows; an error (for the
// log) when a variable is missing or not a number.
bool read_global_status(const Rows& rows, ServerReading& reading, std::string& error);
// Fills the limits from connection_limits_query's row.
bool read_connection_limits(const Rows& rows, ServerReading& reading, std::string& error);

// A whole non-negative decimal number, nothing else.
std::optional<std::uint64_t> parse_count(const std::optional<std::string>& text);

}  // namespace tether::monitor

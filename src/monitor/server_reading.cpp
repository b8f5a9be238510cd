// The server's counters from the monitor's queries (see server_reading.hpp).
#include "tether/monitor/server_reading.hpp"

#include <cctype>
#include <charconv>

namespace tether::monitor {

std::optional<std::uint64_t> parse_count(const std::optional<std::string>& text) {
    if (!text || text->empty()) return std::nullopt;
    std::uint64_t value = 0;
    const char* end = text->data() + text->size();
    const auto [at, error] = std::from_chars(text->data(), end, value, 10);
    if (error != std::errc() || at != end) return std::nullopt;
    return value;
}

bool read_global_status(const Rows& rows, ServerReading& reading, std::string& error) {
    bool threads = false;
    bool clients = false;
    bool connects = false;
    for (const Row& row : rows) {
        if (row.size() != 2 || !row[0]) continue;
        const auto value = parse_count(row[1]);
        if (!value) {
            error = "SHOW GLOBAL STATUS: " + *row[0] + " is not a number";
            return false;
        }
        // The server spells the names as asked; compared without case all the same.
        std::string name = *row[0];
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (name == "threads_connected") {
            reading.threads_connected = *value;
            threads = true;
        } else if (name == "aborted_clients") {
            reading.aborted_clients = *value;
            clients = true;
        } else if (name == "aborted_connects") {
            reading.aborted_connects = *value;
            connects = true;
        }
    }
    if (!threads || !clients || !connects) {
        error = "SHOW GLOBAL STATUS did not return Threads_connected, Aborted_clients and Aborted_connects";
        return false;
    }
    return true;
}

bool read_connection_limits(const Rows& rows, ServerReading& reading, std::string& error) {
    if (rows.size() != 1 || rows[0].size() != 2) {
        error = "SELECT @@max_connections, @@max_user_connections did not return one row of two values";
        return false;
    }
    const auto max_connections = parse_count(rows[0][0]);
    const auto max_user_connections = parse_count(rows[0][1]);
    if (!max_connections || !max_user_connections) {
        error = "@@max_connections or @@max_user_connections is not a number";
        return false;
    }
    reading.max_connections = *max_connections;
    reading.max_user_connections = *max_user_connections;
    return true;
}

}  // namespace tether::monitor

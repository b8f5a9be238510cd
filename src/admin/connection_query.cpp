// GET /connections query parameters (see connection_query.hpp).
#include "tether/admin/connection_query.hpp"

#include <array>
#include <charconv>

namespace tether::admin {

namespace {

constexpr std::array<session::Phase, 7> listed_phases = {
    session::Phase::connecting,     session::Phase::awaiting_greeting, session::Phase::awaiting_login,
    session::Phase::awaiting_admission, session::Phase::authenticating, session::Phase::relaying,
    session::Phase::finishing_upstream,
};

bool known_state(std::string_view state) {
    if (state == "idle" || state == "query") return true;
    for (auto phase : listed_phases) {
        if (session::phase_name(phase) == state) return true;
    }
    return false;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Percent-decoding as browsers and curl --data-urlencode encode.
std::optional<std::string> decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            const int hi = hex_value(s[i + 1]);
            const int lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string states_text() {
    std::string text = "idle, query";
    for (auto phase : listed_phases) text += ", " + std::string(session::phase_name(phase));
    return text;
}

}  // namespace

std::string_view connection_state(session::Phase phase, bool command_in_flight) {
    if (phase == session::Phase::command) return command_in_flight ? "query" : "idle";
    return session::phase_name(phase);
}

bool ConnectionQuery::matches(std::string_view row_client, std::string_view row_user, std::string_view row_state) const {
    return (!client || *client == row_client) && (!user || *user == row_user) && (!state || *state == row_state);
}

std::optional<ConnectionQuery> parse_connection_query(std::string_view query, std::string& error) {
    ConnectionQuery q;
    bool limit_seen = false;
    std::size_t start = 0;
    while (start <= query.size()) {
        const std::size_t amp = std::min(query.find('&', start), query.size());
        const std::string_view pair = query.substr(start, amp - start);
        start = amp + 1;
        if (pair.empty()) continue;
        const std::size_t eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        auto value = decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!value) {
            error = "parameter '" + std::string(name.substr(0, 64)) + "': bad percent-encoding";
            return std::nullopt;
        }
        std::optional<std::string>* field = nullptr;
        if (name == "client") field = &q.client;
        if (name == "user") field = &q.user;
        if (name == "state") field = &q.state;
        if (field != nullptr) {
            if (*field) {
                error = "parameter '" + std::string(name) + "' given twice";
                return std::nullopt;
            }
            *field = std::move(*value);
            continue;
        }
        if (name == "limit") {
            if (limit_seen) {
                error = "parameter 'limit' given twice";
                return std::nullopt;
            }
            limit_seen = true;
            std::size_t n = 0;
            const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n, 10);
            if (value->empty() || ec != std::errc{} || end != value->data() + value->size() || n < 1 ||
                n > ConnectionQuery::max_limit) {
                error = "limit: '" + *value + "' is not a whole number from 1 to " +
                        std::to_string(ConnectionQuery::max_limit);
                return std::nullopt;
            }
            q.limit = n;
            continue;
        }
        error = "unknown parameter '" + std::string(name).substr(0, 64) + "' (use client, user, state, limit)";
        return std::nullopt;
    }
    if (q.state && !known_state(*q.state)) {
        error = "state: '" + q.state->substr(0, 64) + "' is not one of " + states_text();
        return std::nullopt;
    }
    return q;
}

}  // namespace tether::admin

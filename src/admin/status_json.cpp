// GET /status: what the status page shows, as JSON (see status.hpp).
// Written directly, as /connections is: it runs on the loop every proxied query waits on.
#include "tether/admin/status.hpp"
#include "tether/util/json_string.hpp"

namespace tether::admin {

namespace {

using json::append_number;

template <class T>
void append_optional(std::string& out, const std::optional<T>& value) {
    if (!value) {
        out += "null";
    } else if constexpr (std::is_same_v<T, bool>) {
        out += *value ? "true" : "false";
    } else {
        append_number(out, *value);
    }
}

void append_key(std::string& out, std::string_view key) {
    out += '"';
    out += key;
    out += "\":";
}

void append_client(std::string& out, const metrics::PairStatus& c) {
    out += "{\"client\":";
    json::append_string(out, c.client);
    out += ",\"user\":";
    json::append_string(out, c.user);
    out += ",\"open\":";
    append_number(out, c.open);
    out += ",\"suspects\":";
    append_number(out, c.suspects);
    out += ",\"idle_in_transaction\":";
    append_number(out, c.idle_in_transaction);
    out += ",\"max_idle_seconds\":";
    append_number(out, c.max_idle_seconds);
    out += ",\"rejected\":";
    append_number(out, c.rejected);
    out += '}';
}

void append_history(std::string& out, const attribution::ConnectionHistory* history, std::int64_t since) {
    out += "{\"interval_seconds\":";
    append_number(out, history != nullptr ? std::chrono::duration<double>(history->interval()).count() : 0.0);
    out += ",\"samples\":[";
    const std::size_t n = history != nullptr ? history->size() : 0;
    // Samples are in time order: skip those already seen from the newest end backwards.
    std::size_t first = n;
    while (first > 0 && history->at(first - 1).unix_seconds > since) --first;
    for (std::size_t i = first; i < n; ++i) {
        const auto& sample = history->at(i);
        if (i != first) out += ',';
        out += "{\"t\":";
        append_number(out, sample.unix_seconds);
        out += ",\"total\":";
        append_number(out, sample.total);
        out += ",\"clients\":{";
        for (std::size_t j = 0; j < sample.clients.size(); ++j) {
            if (j != 0) out += ',';
            json::append_string(out, sample.clients[j].first);
            out += ':';
            append_number(out, sample.clients[j].second);
        }
        out += "}}";
    }
    out += "]}";
}

}  // namespace

std::string status_json(const StatusSnapshot& s, std::int64_t since) {
    std::string out;
    out.reserve(512 + s.clients.size() * 160 + (s.history != nullptr ? s.history->size() * 120 : 0));
    out += "{\"version\":";
    json::append_string(out, s.version);
    out += s.ready ? ",\"ready\":true" : ",\"ready\":false";
    out += ",\"not_ready_reason\":";
    if (s.ready) {
        out += "null";
    } else {
        json::append_string(out, s.not_ready_reason);
    }
    out += ",\"upstream\":{\"address\":";
    json::append_string(out, s.upstream.address);
    out += ",\"monitor_up\":";
    append_optional(out, s.upstream.monitor_up);
    out += ",\"server_threads_connected\":";
    append_optional(out, s.upstream.server_threads_connected);
    out += ",\"server_max_connections\":";
    append_optional(out, s.upstream.server_max_connections);
    out += "},";
    append_key(out, "sessions");
    append_number(out, s.sessions);
    out += ',';
    append_key(out, "suspects");
    append_number(out, s.suspects);
    out += ",\"leak_idle_threshold_seconds\":";
    append_number(out, s.leak_idle_threshold_seconds);
    out += ",\"caps\":{\"total\":";
    append_number(out, s.caps.total);
    out += ",\"client\":";
    append_number(out, s.caps.client);
    out += ",\"user\":";
    append_number(out, s.caps.user);
    out += "},\"clients\":[";
    for (std::size_t i = 0; i < s.clients.size(); ++i) {
        if (i != 0) out += ',';
        append_client(out, s.clients[i]);
    }
    out += "],\"history\":";
    append_history(out, s.history, since);
    out += "}\n";
    return out;
}

}  // namespace tether::admin

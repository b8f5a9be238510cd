// GET /connections over the live sessions (Proxy::connections, see proxy.hpp).
// With 10,000 sessions the whole listing is megabytes of JSON built on the
// loop every proxied query waits on: filters run before any row is built, and
// only the `limit` lowest ids are picked (nth_element), sorted and built.
#include <algorithm>

#include "tether/io/proxy.hpp"

namespace tether::io {

namespace {

double seconds_between(session::Clock::time_point from, session::Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

// The MySQL user the session logged in as (what ?user= matches).
std::string_view session_user(const Connection& c) {
    if (const codec::Login* login = c.session().login()) return login->user;
    return c.labels() != nullptr ? std::string_view(c.labels()->user) : std::string_view();
}

std::string_view session_client(const Connection& c) {
    return c.labels() != nullptr ? std::string_view(c.labels()->client) : std::string_view();
}

admin::ConnectionInfo connection_row(std::uint64_t id, const Connection& c, session::Clock::time_point t) {
    const auto& s = c.session();
    admin::ConnectionInfo row;
    row.id = id;
    if (c.labels() != nullptr) {
        row.client = c.labels()->client;
        row.user = c.labels()->user;
    }
    if (const codec::Login* login = s.login()) {
        row.user = login->user;
        row.database = s.current_database();
        for (const auto& [key, value] : login->attributes) row.attrs.emplace_back(key, value);
    }
    row.peer = c.peer_port() != 0 ? (c.peer().find(':') != std::string::npos ? "[" + c.peer() + "]" : c.peer()) + ":" +
                                        std::to_string(c.peer_port())
                                  : c.peer();
    row.upstream_thread_id = s.upstream_thread_id();
    row.state = std::string(admin::connection_state(s.phase(), s.command_in_flight()));
    row.age_seconds = seconds_between(s.started_at(), t);
    row.idle_seconds = s.command_in_flight() ? 0 : seconds_between(s.last_activity(), t);
    row.in_transaction = s.in_transaction();
    row.bytes_from_client = c.bytes_from_client();
    row.bytes_from_upstream = c.bytes_from_upstream();
    row.client_tls = c.client_tls_version();
    row.upstream_tls = c.upstream_tls_version();
    row.last_statement = s.tracker().statements().fingerprint();
    row.commands = s.tracker().commands();
    row.leak_suspect = c.leak_suspect();
    return row;
}

}  // namespace

admin::ConnectionPage Proxy::connections(const admin::ConnectionQuery& query) {
    std::vector<std::pair<std::uint64_t, const Connection*>> matched;
    matched.reserve(std::min(connections_.size(), query.limit + 1));
    for (const auto& [id, c] : connections_) {
        const auto& s = c->session();
        if (query.matches(session_client(*c), session_user(*c), admin::connection_state(s.phase(), s.command_in_flight()))) {
            matched.emplace_back(id, c);
        }
    }
    admin::ConnectionPage page;
    page.total = matched.size();
    const auto by_id = [](const auto& a, const auto& b) { return a.first < b.first; };
    if (matched.size() > query.limit) {
        std::nth_element(matched.begin(), matched.begin() + static_cast<std::ptrdiff_t>(query.limit), matched.end(), by_id);
        matched.resize(query.limit);
    }
    std::sort(matched.begin(), matched.end(), by_id);
    const auto t = now();
    page.rows.reserve(matched.size());
    for (const auto& [id, c] : matched) page.rows.push_back(connection_row(id, *c, t));
    return page;
}

}  // namespace tether::io

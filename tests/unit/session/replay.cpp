// The Session driver and the capture replay (see replay.hpp).
#include "replay.hpp"

#include <doctest/doctest.h>

namespace tether::session::test {

std::vector<std::string_view> event_names(const std::vector<SessionEvent>& events) {
    std::vector<std::string_view> names;
    for (const auto& e : events) names.push_back(event_name(e));
    return names;
}

const char* feeding_name(Feeding f) {
    switch (f) {
        case Feeding::as_captured: return "as captured";
        case Feeding::byte_at_a_time: return "one byte at a time";
        case Feeding::coalesced: return "coalesced";
    }
    return "?";
}

SessionConfig Driver::default_config() {
    SessionConfig c;
    c.reserved_user = "tether_abort_login";
    c.upstream_name = "db.test:3306";
    c.handshake_timeout = std::chrono::milliseconds(10'000);
    c.connect_timeout = std::chrono::milliseconds(5'000);
    return c;
}

Driver::Driver(SessionConfig config)
    : config_(std::move(config)), t0_(Clock::time_point{} + std::chrono::hours(1000)), now_(t0_), session_(config_, t0_) {}

void Driver::clear_output() {
    to_client.clear();
    to_upstream.clear();
    events.clear();
    notes.clear();
}

void Driver::apply(Actions& a, codec::Bytes chunk, bool from_client) {
    auto& forward_to = from_client ? to_upstream : to_client;
    if (a.forward) forward_to.insert(forward_to.end(), chunk.begin(), chunk.end());
    to_client.insert(to_client.end(), a.to_client.begin(), a.to_client.end());
    to_upstream.insert(to_upstream.end(), a.to_upstream.begin(), a.to_upstream.end());
    for (const auto& e : a.events) {
        events.push_back(e);
        if (std::string note = event_detail(e); !note.empty()) notes.push_back(std::move(note));
    }
    // Every phase change a test drives must be in Session::enter's table.
    const auto refused = session_.refused_transition();
    if (refused) FAIL("Session::enter refused " << phase_name(refused->from) << " -> " << phase_name(refused->to));
    client_close_requested = client_close_requested || a.close_client;
    client_drain_requested = client_drain_requested || a.drain_client;
    upstream_close_requested = upstream_close_requested || a.close_upstream;
    connect_requested = connect_requested || a.connect_upstream;
    if (a.start_client_tls) {
        CHECK_FALSE(client_tls_started);  // once per session
        client_tls_started = true;
        client_tls_bytes.insert(client_tls_bytes.end(), a.client_tls_bytes.begin(), a.client_tls_bytes.end());
    }
    if (a.start_upstream_tls) {
        CHECK_FALSE(upstream_tls_started);
        upstream_tls_started = true;
    }
    last = a;
    if (auto_admit && a.events.contains<LoginReceived>()) {
        Actions b;
        session_.admit(Admission::allow(), b);
        apply(b, {}, false);
        last.to_upstream.insert(last.to_upstream.end(), b.to_upstream.begin(), b.to_upstream.end());
        last.to_client.insert(last.to_client.end(), b.to_client.begin(), b.to_client.end());
        for (const auto& e : b.events) last.events.push(e);
    }
    if (auto_admit_change_user && a.events.contains<ChangeUserAccepted>()) {
        Actions b;
        session_.admit_change_user(change_user_answer, b);
        apply(b, {}, false);
        last.to_upstream.insert(last.to_upstream.end(), b.to_upstream.begin(), b.to_upstream.end());
        last.to_client.insert(last.to_client.end(), b.to_client.begin(), b.to_client.end());
        for (const auto& e : b.events) last.events.push(e);
        last.close_client = last.close_client || b.close_client;
        last.close_upstream = last.close_upstream || b.close_upstream;
    }
}

void Driver::connect() {
    Actions a;
    session_.start(a);
    apply(a, {}, false);
    now_ += std::chrono::milliseconds(1);
    Actions b;
    session_.on_upstream_connected(now_, b);
    apply(b, {}, false);
}

void Driver::client(codec::Bytes chunk) {
    now_ += std::chrono::milliseconds(1);
    Actions a;
    session_.on_client_bytes(chunk, now_, a);
    apply(a, chunk, true);
}

void Driver::upstream(codec::Bytes chunk) {
    now_ += std::chrono::milliseconds(1);
    Actions a;
    session_.on_upstream_bytes(chunk, now_, a);
    apply(a, chunk, false);
}

void Driver::client_closed() {
    Actions a;
    session_.on_client_closed(a);
    apply(a, {}, true);
}

void Driver::upstream_closed() {
    Actions a;
    session_.on_upstream_closed(a);
    apply(a, {}, false);
}

void Driver::connect_failed(std::string_view why) {
    Actions a;
    session_.on_upstream_connect_failed(why, a);
    apply(a, {}, false);
}

void Driver::tick_after(std::chrono::milliseconds since_start) {
    now_ = t0_ + since_start;
    Actions a;
    session_.on_tick(now_, a);
    apply(a, {}, false);
}

void Driver::admit(const Admission& admission) {
    Actions a;
    session_.admit(admission, a);
    apply(a, {}, false);
}

void Driver::upstream_tls_ready() {
    Actions a;
    session_.on_upstream_tls_ready(a);
    apply(a, {}, false);
}

void Driver::upstream_tls_failed(std::string_view why, bool channel_usable) {
    Actions a;
    session_.on_upstream_tls_failed(why, channel_usable, a);
    apply(a, {}, false);
}

void Driver::close(CloseReason reason) {
    Actions a;
    session_.close(reason, a);
    apply(a, {}, false);
}

Replay replay(const Capture& capture, Feeding feeding) {
    Driver d;
    d.connect();
    Replay r;
    const auto& chunks = capture.chunks;
    auto checkpoint = [&](std::size_t i) {
        const auto& s = d.session();
        return Checkpoint{i, s.phase(), s.command_in_flight(), s.in_transaction(), std::string(s.current_database())};
    };
    auto feed = [&](Direction dir, codec::Bytes bytes) {
        if (dir == Direction::client) {
            d.client(bytes);
        } else {
            d.upstream(bytes);
        }
    };
    std::size_t i = 0;
    while (i < chunks.size()) {
        // A run of consecutive same-direction chunks [i, j).
        std::size_t j = i + 1;
        while (j < chunks.size() && chunks[j].direction == chunks[i].direction) ++j;
        const Direction dir = chunks[i].direction;
        if (feeding == Feeding::coalesced) {
            ByteVec joined;
            for (std::size_t k = i; k < j; ++k) joined.insert(joined.end(), chunks[k].bytes.begin(), chunks[k].bytes.end());
            feed(dir, joined);
        } else {
            for (std::size_t k = i; k < j; ++k) {
                const codec::Bytes bytes = chunks[k].bytes;
                if (feeding == Feeding::as_captured) {
                    feed(dir, bytes);
                } else {
                    for (std::size_t b = 0; b < bytes.size(); ++b) feed(dir, bytes.subspan(b, 1));
                }
                r.per_chunk.push_back(checkpoint(k));
            }
        }
        r.checkpoints.push_back(checkpoint(j - 1));
        i = j;
    }
    r.phase_before_close = d.session().phase();
    const std::size_t upstream_before = d.to_upstream.size();
    const auto closed_first = capture.keys.count("closed-first") ? capture.keys.at("closed-first") : "client";
    if (closed_first == "server") {
        d.upstream_closed();
        d.client_closed();
    } else {
        d.client_closed();
        d.upstream_closed();
    }
    r.upstream_bytes_after_close.assign(d.to_upstream.begin() + static_cast<std::ptrdiff_t>(upstream_before),
                                        d.to_upstream.end());
    r.to_client = d.to_client;
    r.to_upstream = d.to_upstream;
    r.events = d.events;
    r.final_phase = d.session().phase();
    r.reason = d.session().close_reason();
    r.client_close_requested = d.client_close_requested;
    r.upstream_close_requested = d.upstream_close_requested;
    r.authenticated = d.session().authenticated();
    if (d.session().login() != nullptr) r.login = *d.session().login();
    r.thread_id = d.session().upstream_thread_id();
    r.server_version = d.session().server_version();
    r.commands = d.session().tracker().commands();
    return r;
}

}  // namespace tether::session::test

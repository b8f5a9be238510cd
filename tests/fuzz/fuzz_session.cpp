// libFuzzer target for the Session: a whole connection driven by a script of events, invariants checked after every step.
//
// The input is a script. Each event starts with an op byte (op % op_count):
//   client_bytes, upstream_bytes  u16 length (little-endian), then that many bytes
//   tick                          1 byte: time advances by that many 100 ms, then on_tick
//   client_closed, upstream_closed, upstream_connected, connect_failed
//   admit_allow, admit_refuse     the owner's answer to a login (ignored unless one is waiting)
//   close_session                 1 byte: the CloseReason of an admin/idle/shutdown close
//   flood                         3 bytes: side, count, fill: count * 4 KiB of `fill` in 16 KiB reads
//   upstream_tls_ready, upstream_tls_failed (1 byte)
// The input's last byte picks the TLS modes of both legs (3 x 3), so every
// seed also runs with TLS offered to the client and tether's own TLS to the server.
// Seeds (tests/fuzz/make_seeds.py) replay real captured exchanges, a greeting
// first, so the fuzzer starts from deep states.
//
// Events are delivered only when the I/O layer could deliver them: no reads
// from a side that is closed, upstream reads only once connected (the first
// one connects it), no ticks once closed. After every step:
// - the phase only moves along the state machine's edges;
// - nothing is written to a side after it was closed (by the session or by
//   its peer), nothing to the upstream before it connected;
// - each side is closed by the session at most once;
// - the close reason, once set, never changes, and a closed session has one;
// - a closed session has both sides closed (no orphaned server link);
// - the handshake buffers stay bounded;
// - once authenticated, the login holds no auth response (a secret-derived value);
// and at the end, once the client is gone and enough time passed, the session is closed.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "fuzz_check.hpp"
#include "tether/session/session.hpp"

namespace {

using namespace tether;
using session::Phase;
using tether::fuzz::InputReader;

enum Op : std::uint8_t {
    client_bytes,
    upstream_bytes,
    tick,
    client_closed,
    upstream_closed,
    upstream_connected,
    connect_failed,
    admit_allow,
    admit_refuse,
    close_session,
    flood,
    upstream_tls_ready,   // io: the server leg's TLS is up (ignored unless the session started it)
    upstream_tls_failed,  // 1 byte: bit 0 set = the handshake completed, only trust failed
    op_count,
};

// A few MiB: the largest handshake packet tether reassembles is 1 MiB, plus one read.
constexpr std::size_t max_handshake_buffer = 8 * 1024 * 1024;  // capacities: vectors may double past a limit

constexpr std::size_t phase_count = static_cast<std::size_t>(Phase::closed) + 1;

// The state machine's edges (session.hpp); a step may take several in a row.
constexpr bool edge(Phase from, Phase to) {
    switch (from) {
        case Phase::connecting:
            return to == Phase::awaiting_greeting || to == Phase::finishing_upstream || to == Phase::closed;
        case Phase::awaiting_greeting:
            return to == Phase::awaiting_login || to == Phase::finishing_upstream || to == Phase::closed;
        case Phase::awaiting_login:
            return to == Phase::awaiting_admission || to == Phase::finishing_upstream || to == Phase::closed;
        case Phase::awaiting_admission:
            return to == Phase::securing_upstream || to == Phase::authenticating || to == Phase::finishing_upstream ||
                   to == Phase::closed;
        case Phase::securing_upstream:
            return to == Phase::authenticating || to == Phase::finishing_upstream || to == Phase::closed;
        case Phase::authenticating:
            return to == Phase::command || to == Phase::finishing_upstream || to == Phase::closed;
        case Phase::command: return to == Phase::relaying || to == Phase::closed;
        case Phase::relaying: return to == Phase::closed;
        case Phase::finishing_upstream: return to == Phase::closed;
        case Phase::closed: return false;
    }
    return false;
}

bool reachable(Phase from, Phase to) {
    if (from == to) return true;
    std::array<bool, phase_count> seen{};
    std::array<Phase, phase_count> stack{};
    std::size_t depth = 0;
    stack[depth++] = from;
    seen[static_cast<std::size_t>(from)] = true;
    while (depth > 0) {
        const Phase p = stack[--depth];
        for (std::size_t i = 0; i < phase_count; ++i) {
            const auto next = static_cast<Phase>(i);
            if (seen[i] || !edge(p, next)) continue;
            if (next == to) return true;
            seen[i] = true;
            stack[depth++] = next;
        }
    }
    return false;
}

// What the I/O layer knows about the two sockets, and the invariants over them.
class Harness {
public:
    explicit Harness(std::uint8_t tls_choice)
        : now_(session::Clock::time_point{} + std::chrono::hours(1)), session_(config(tls_choice), now_) {
        session::Actions out;
        session_.start(out);
        FUZZ_CHECK(out.connect_upstream);
        connect_requested_ = true;
        after(out, Source::none, false);
    }

    void run(InputReader& script) {
        while (!script.empty() && session_.phase() != Phase::closed) step(script);
        if (session_.phase() == Phase::closed) {
            // An admin close of a finished session does nothing.
            session::Actions out;
            session_.close(session::CloseReason::admin, out);
            after(out, Source::none, false);
            FUZZ_CHECK(out.to_client.empty() && out.to_upstream.empty() && !out.close_client && !out.close_upstream);
            return;
        }
        // The client leaves and time passes: nothing may stay open on the server.
        if (client_live_) deliver_client_closed();
        for (int i = 0; i < 3 && session_.phase() != Phase::closed; ++i) advance(std::chrono::hours(1));
        FUZZ_CHECK(session_.phase() == Phase::closed);
    }

private:
    enum class Source { none, client, upstream };

    static const session::SessionConfig& config(std::uint8_t tls_choice) {
        static const std::array<session::SessionConfig, 9> configs = [] {
            std::array<session::SessionConfig, 9> all;
            for (std::size_t i = 0; i < all.size(); ++i) {
                auto& sc = all[i];
                sc.upstream_name = "db.example:3306";
                sc.handshake_timeout = std::chrono::milliseconds(2000);
                sc.connect_timeout = std::chrono::milliseconds(1000);
                sc.client_tls = static_cast<session::ClientTls>(i % 3);
                sc.upstream_tls = static_cast<session::UpstreamTls>(i / 3);
            }
            return all;
        }();
        return configs[tls_choice % configs.size()];
    }

    [[nodiscard]] bool upstream_live() const { return upstream_connected_ && !upstream_dead_; }
    [[nodiscard]] bool upstream_pending() const { return connect_requested_ && !upstream_connected_ && !upstream_dead_; }

    void step(InputReader& script) {
        switch (script.u8() % op_count) {
            case client_bytes: {
                const auto chunk = tether::fuzz::exact_copy(script.take(script.u16()));
                deliver_client(chunk);
                break;
            }
            case upstream_bytes: {
                const auto chunk = tether::fuzz::exact_copy(script.take(script.u16()));
                deliver_upstream(chunk);
                break;
            }
            case tick: advance(std::chrono::milliseconds(100) * script.u8()); break;
            case client_closed:
                if (client_live_) deliver_client_closed();
                break;
            case upstream_closed:
                if (upstream_live()) {
                    upstream_dead_ = true;
                    session::Actions out;
                    session_.on_upstream_closed(out);
                    after(out, Source::none, false);
                }
                break;
            case upstream_connected: connect(); break;
            case connect_failed:
                if (upstream_pending()) {
                    upstream_dead_ = true;
                    session::Actions out;
                    session_.on_upstream_connect_failed("connection refused", out);
                    after(out, Source::none, false);
                }
                break;
            case admit_allow: {
                session::Actions out;
                session_.admit(session::Admission::allow(), out);
                after(out, Source::none, false);
                break;
            }
            case admit_refuse: {
                session::Actions out;
                session_.admit(session::Admission::refuse(1040, "08004", "Too many connections"), out);
                after(out, Source::none, false);
                break;
            }
            case close_session: {
                const auto reason = session::all_close_reasons[script.u8() % session::all_close_reasons.size()];
                session::Actions out;
                session_.close(reason, out);
                after(out, Source::none, false);
                break;
            }
            case upstream_tls_ready:
                if (upstream_tls_pending_ && upstream_live()) {
                    upstream_tls_pending_ = false;
                    session::Actions out;
                    session_.on_upstream_tls_ready(out);
                    after(out, Source::none, false);
                }
                break;
            case upstream_tls_failed: {
                const bool usable = (script.u8() & 1) != 0;
                if (upstream_tls_pending_ && upstream_live()) {
                    upstream_tls_pending_ = false;
                    session::Actions out;
                    session_.on_upstream_tls_failed("certificate has expired", usable, out);
                    after(out, Source::none, false);
                    // A broken TLS channel: the session must close the server side, never write to it.
                    if (!usable) FUZZ_CHECK(upstream_dead_);
                }
                break;
            }
            case flood: {
                const bool to_upstream = (script.u8() & 1) != 0;
                const std::size_t total = static_cast<std::size_t>(script.u8()) * 4096;
                const std::vector<std::byte> chunk(16 * 1024, static_cast<std::byte>(script.u8()));
                for (std::size_t sent = 0; sent < total && session_.phase() != Phase::closed; sent += chunk.size()) {
                    if (to_upstream) {
                        deliver_upstream(chunk);
                    } else {
                        deliver_client(chunk);
                    }
                }
                break;
            }
            default: break;
        }
    }

    void connect() {
        if (!upstream_pending()) return;
        upstream_connected_ = true;
        session::Actions out;
        session_.on_upstream_connected(now_, out);
        after(out, Source::none, false);
    }

    void deliver_client(const std::vector<std::byte>& chunk) {
        if (!client_live_ || chunk.empty()) return;
        session::Actions out;
        session_.on_client_bytes(chunk, now_, out);
        after(out, Source::client, true);
    }

    void deliver_upstream(const std::vector<std::byte>& chunk) {
        if (upstream_pending()) connect();  // the I/O layer reads only a connected socket
        if (!upstream_live() || chunk.empty()) return;
        session::Actions out;
        session_.on_upstream_bytes(chunk, now_, out);
        after(out, Source::upstream, true);
    }

    void deliver_client_closed() {
        client_live_ = false;
        client_peer_closed_ = true;
        session::Actions out;
        session_.on_client_closed(out);
        after(out, Source::none, false);
    }

    void advance(std::chrono::milliseconds by) {
        if (session_.phase() == Phase::closed) return;
        now_ += by;
        session::Actions out;
        session_.on_tick(now_, out);
        after(out, Source::none, false);
    }

    // The invariants, checked after every entry point.
    void after(const session::Actions& out, Source source, bool had_input) {
        const bool to_client = !out.to_client.empty() || (out.forward && had_input && source == Source::upstream);
        const bool to_upstream = !out.to_upstream.empty() || (out.forward && had_input && source == Source::client);
        // Bytes are written before a close in the same step takes effect.
        if (to_client) FUZZ_CHECK(client_live_);
        if (to_upstream) FUZZ_CHECK(upstream_live());
        // While the server leg's TLS handshake runs, the session writes nothing to it (the
        // SSLRequest goes in the step that starts it).
        if (to_upstream && upstream_tls_pending_) FUZZ_CHECK(false);
        if (out.start_upstream_tls) {
            FUZZ_CHECK(!upstream_tls_started_ && upstream_live());
            upstream_tls_started_ = upstream_tls_pending_ = true;
        }
        if (out.start_client_tls) {
            FUZZ_CHECK(!client_tls_started_ && client_live_);
            client_tls_started_ = true;
        }
        if (out.forward) FUZZ_CHECK(source != Source::none);
        if (step_count_ > 0) FUZZ_CHECK(!out.connect_upstream);

        if (out.close_client) {
            FUZZ_CHECK(!client_closed_by_session_ && !client_peer_closed_);
            client_closed_by_session_ = true;
            client_live_ = false;
        }
        if (out.close_upstream) {
            FUZZ_CHECK(connect_requested_ && !upstream_dead_);
            upstream_dead_ = true;
        }

        const Phase phase = session_.phase();
        FUZZ_CHECK(reachable(phase_, phase));
        phase_ = phase;

        const auto reason = session_.close_reason();
        if (reason_) FUZZ_CHECK(reason == reason_);
        reason_ = reason;

        // Every phase change goes through the table (release builds do not assert).
        FUZZ_CHECK(!session_.refused_transition());
        // The latest statement: a bounded fingerprint, and bounded prepared statements.
        const session::StatementTrace& statements = session_.tracker().statements();
        if (const auto fingerprint = statements.fingerprint()) FUZZ_CHECK(fingerprint->size() <= 256);
        FUZZ_CHECK(statements.prepared_count() <= session::StatementTrace::max_prepared);
        FUZZ_CHECK(statements.prepared_bytes() <= session::StatementTrace::max_prepared_bytes);
        FUZZ_CHECK(out.events.size() <= session::EventList::capacity);
        for (const session::SessionEvent& e : out.events) {
            // Each event carries its own words; the ones that report a problem say something.
            if (!std::holds_alternative<session::GreetingReceived>(e) && !std::holds_alternative<session::LoginReceived>(e) &&
                !std::holds_alternative<session::Authenticated>(e) && !std::holds_alternative<session::ChangeUserAccepted>(e)) {
                FUZZ_CHECK(!session::event_detail(e).empty());
            }
        }

        if (out.events.contains<session::LoginReceived>()) {
            FUZZ_CHECK(!login_received_);
            login_received_ = true;
            FUZZ_CHECK(phase == Phase::awaiting_admission && session_.login() != nullptr);
        }
        if (out.events.contains<session::Authenticated>()) {
            FUZZ_CHECK(!authenticated_);
            authenticated_ = true;
        }
        FUZZ_CHECK(authenticated_ == session_.authenticated());

        if (phase == Phase::closed) {
            FUZZ_CHECK(reason_.has_value());
            FUZZ_CHECK(!client_live_ && !session_.client_open());
            FUZZ_CHECK(!upstream_live() && !upstream_pending() && !session_.upstream_open());
        }
        FUZZ_CHECK(session_.buffered_bytes() <= max_handshake_buffer);
        if (session_.authenticated() && session_.login() != nullptr) FUZZ_CHECK(session_.login()->auth_response.empty());
        ++step_count_;
    }

    session::Clock::time_point now_;
    session::Session session_;
    Phase phase_ = Phase::connecting;
    std::optional<session::CloseReason> reason_;
    std::size_t step_count_ = 0;
    bool client_live_ = true;
    bool client_peer_closed_ = false;
    bool client_closed_by_session_ = false;
    bool connect_requested_ = false;
    bool upstream_connected_ = false;
    bool upstream_dead_ = false;
    bool login_received_ = false;
    bool authenticated_ = false;
    bool upstream_tls_started_ = false;
    bool upstream_tls_pending_ = false;  // started, and neither ready nor failed yet
    bool client_tls_started_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    InputReader script(std::span(reinterpret_cast<const std::byte*>(data), size));
    Harness harness(size > 0 ? data[size - 1] : 0);
    harness.run(script);
    return 0;
}

// Drives a Session like the I/O layer would and records everything it asks for.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "capture.hpp"
#include "tether/session/session.hpp"

namespace tether::session::test {

using ByteVec = std::vector<std::byte>;

// The owner's side of a Session: calls the entry points, applies the Actions
// (the forwarded chunk first, then the session's own bytes) and keeps what
// each socket would have been sent.
template <class E>
std::size_t count_events(const std::vector<SessionEvent>& events) {
    std::size_t n = 0;
    for (const auto& e : events) n += std::holds_alternative<E>(e) ? 1 : 0;
    return n;
}
std::vector<std::string_view> event_names(const std::vector<SessionEvent>& events);

class Driver {
public:
    explicit Driver(SessionConfig config = default_config());
    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;

    static SessionConfig default_config();

    // start() + on_upstream_connected().
    void connect();
    void client(codec::Bytes chunk);
    void upstream(codec::Bytes chunk);
    void client_closed();
    void upstream_closed();
    void connect_failed(std::string_view why);
    void tick_after(std::chrono::milliseconds since_start);
    void admit(const Admission& a);
    void upstream_tls_ready();
    void upstream_tls_failed(std::string_view why, bool channel_usable);
    void close(CloseReason reason);
    void advance(std::chrono::milliseconds d) { now_ += d; }

    Session& session() { return session_; }
    const Session& session() const { return session_; }
    [[nodiscard]] Clock::time_point now() const { return now_; }
    [[nodiscard]] Clock::time_point start_time() const { return t0_; }

    // When set (the default), login_received is answered with admit(allow) at once.
    bool auto_admit = true;
    // The answer to change_user_accepted, given at once (unless
    // auto_admit_change_user is false: an owner that decides later).
    Admission change_user_answer = Admission::allow();
    bool auto_admit_change_user = true;

    ByteVec to_client;    // everything the client socket was sent
    ByteVec to_upstream;  // everything the upstream socket was sent
    std::vector<SessionEvent> events;  // every raised event, in the order raised
    std::vector<std::string> notes;    // the detail of each event that has one, in the same order
    bool client_close_requested = false;
    bool client_drain_requested = false;  // the close asked for a drain first (Actions::drain_client)
    bool upstream_close_requested = false;
    bool connect_requested = false;
    bool client_tls_started = false;    // Actions::start_client_tls seen
    ByteVec client_tls_bytes;           // and what came with it, for the TLS engine
    bool upstream_tls_started = false;  // Actions::start_upstream_tls seen
    Actions last;  // the Actions of the last entry point (an auto-admit merges into it)

    template <class E>
    [[nodiscard]] bool saw() const {
        return count_events<E>(events) > 0;
    }
    // The first event of type E seen, or nullptr.
    template <class E>
    [[nodiscard]] const E* first() const {
        for (const auto& e : events) {
            if (const E* found = std::get_if<E>(&e)) return found;
        }
        return nullptr;
    }
    // Clears the recorded output (not the session).
    void clear_output();

private:
    void apply(Actions& a, codec::Bytes chunk, bool from_client);

    SessionConfig config_;
    Clock::time_point t0_;
    Clock::time_point now_;
    Session session_;
};

enum class Feeding { as_captured, byte_at_a_time, coalesced };
const char* feeding_name(Feeding f);

// The state after a chunk (the last of a run of same-direction chunks).
struct Checkpoint {
    std::size_t chunk_index = 0;  // the capture chunk it follows
    Phase phase = Phase::connecting;
    bool command_in_flight = false;
    bool in_transaction = false;
    std::string database;  // Session::current_database()
    bool operator==(const Checkpoint&) const = default;
};

struct Replay {
    ByteVec to_client;
    ByteVec to_upstream;
    std::vector<SessionEvent> events;
    std::vector<Checkpoint> checkpoints;  // after each run of same-direction chunks
    std::vector<Checkpoint> per_chunk;    // after every chunk (empty for coalesced feeding)
    Phase phase_before_close = Phase::connecting;
    Phase final_phase = Phase::connecting;
    std::optional<CloseReason> reason;
    bool client_close_requested = false;
    bool upstream_close_requested = false;
    bool authenticated = false;
    std::optional<codec::Login> login;
    std::uint32_t thread_id = 0;
    std::string server_version;
    std::uint64_t commands = 0;
    ByteVec upstream_bytes_after_close;  // what on_*_closed wrote upstream (a COM_QUIT, or nothing)
};

// Replays `capture` through a fresh Session, then ends the connection the way
// the capture says (closed-first), and records what was observed.
Replay replay(const Capture& capture, Feeding feeding);

}  // namespace tether::session::test

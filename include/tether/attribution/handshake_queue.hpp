// The wait line for a handshake slot: connections accepted while the
// HandshakeGate is full wait here, oldest first, instead of being refused, so
// a burst of honest logins (a pool warming up, a deploy) is carried through.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "tether/attribution/handshake_gate.hpp"

namespace tether::attribution {

class HandshakeQueue {
public:
    using Clock = std::chrono::steady_clock;

    struct Waiter {
        std::uint64_t id = 0;     // the owner's connection id
        std::string address;      // as given to HandshakeGate (empty: unix socket)
        Clock::time_point since;  // accept: the handshake budget runs from here
    };

    struct JoinResult {
        bool queued = false;  // false: the queue is full (or has no room at all): refuse the newcomer
        // A waiter pushed out to make room (see join()): refuse it too.
        std::optional<Waiter> evicted;
    };

    // capacity 0: nobody waits (refusal at once, as without a queue).
    explicit HandshakeQueue(std::size_t capacity) : capacity_(capacity) {}

    // Adds a waiter at the back. When the queue is full, one address must not
    // lock every other out of it: if the address with the most waiters has at
    // least two more than the newcomer's, its newest waiter makes room.
    // Otherwise the newcomer is refused. `id` must not be queued already.
    JoinResult join(std::uint64_t id, std::string address, Clock::time_point since);
    // The waiter left (its client closed, an admin close, shutdown). False if not queued.
    bool remove(std::uint64_t id);
    // The oldest waiter `gate` admits now (for a per-address cap: the oldest
    // whose address is under it), removed from the queue; none if the gate is
    // full for everyone or for each waiter's address.
    std::optional<Waiter> take_admissible(const HandshakeGate& gate);
    // The oldest waiter if it has been waiting since before `cutoff`, removed.
    // Waiters are in accept order, so calling this until it returns nothing
    // takes every expired one.
    std::optional<Waiter> take_expired(Clock::time_point cutoff);

    [[nodiscard]] std::size_t size() const { return waiters_.size(); }
    [[nodiscard]] std::size_t capacity() const { return capacity_; }
    [[nodiscard]] bool contains(std::uint64_t id) const { return by_id_.count(id) != 0; }
    [[nodiscard]] std::size_t of_address(const std::string& address) const;
    // Distinct addresses waiting: never more than size().
    [[nodiscard]] std::size_t addresses() const { return per_address_.size(); }

private:
    using Line = std::list<Waiter>;
    Waiter take(Line::iterator it);

    std::size_t capacity_;
    Line waiters_;  // oldest first
    std::unordered_map<std::uint64_t, Line::iterator> by_id_;
    std::unordered_map<std::string, std::size_t> per_address_;  // only addresses with a waiter
};

}  // namespace tether::attribution

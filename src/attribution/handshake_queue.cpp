// The wait line for a handshake slot (see handshake_queue.hpp).
#include "tether/attribution/handshake_queue.hpp"

#include <cassert>

namespace tether::attribution {

std::size_t HandshakeQueue::of_address(const std::string& address) const {
    auto it = per_address_.find(address);
    return it == per_address_.end() ? 0 : it->second;
}

HandshakeQueue::JoinResult HandshakeQueue::join(std::uint64_t id, std::string address, Clock::time_point since) {
    assert(!contains(id));
    JoinResult result;
    if (capacity_ == 0) return result;
    if (waiters_.size() >= capacity_) {
        // Full: the fairest victim is the newest waiter of the address holding the most places.
        const std::string* busiest = nullptr;
        std::size_t most = 0;
        for (const auto& [a, n] : per_address_) {
            if (n > most) {
                most = n;
                busiest = &a;
            }
        }
        if (busiest == nullptr || most < of_address(address) + 2) return result;
        const std::string victim_address = *busiest;
        for (auto it = waiters_.end(); it != waiters_.begin();) {
            --it;
            if (it->address == victim_address) {
                result.evicted = take(it);
                break;
            }
        }
    }
    waiters_.push_back(Waiter{id, std::move(address), since});
    by_id_.emplace(id, std::prev(waiters_.end()));
    ++per_address_[waiters_.back().address];
    result.queued = true;
    return result;
}

HandshakeQueue::Waiter HandshakeQueue::take(Line::iterator it) {
    Waiter w = std::move(*it);
    by_id_.erase(w.id);
    auto a = per_address_.find(w.address);
    if (a != per_address_.end() && --a->second == 0) per_address_.erase(a);
    waiters_.erase(it);
    return w;
}

bool HandshakeQueue::remove(std::uint64_t id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return false;
    take(it->second);
    return true;
}

std::optional<HandshakeQueue::Waiter> HandshakeQueue::take_admissible(const HandshakeGate& gate) {
    // The total first: while it is full nobody goes, whatever the address.
    if (waiters_.empty() || !gate.decide(std::string()).allowed) return std::nullopt;
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (gate.decide(it->address).allowed) return take(it);
    }
    return std::nullopt;
}

std::optional<HandshakeQueue::Waiter> HandshakeQueue::take_expired(Clock::time_point cutoff) {
    if (waiters_.empty() || waiters_.front().since >= cutoff) return std::nullopt;
    return take(waiters_.begin());
}

}  // namespace tether::attribution

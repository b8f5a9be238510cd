// The connection_rejected line rate limit (see rejection_log_limiter.hpp).
#include "tether/ledger/rejection_log_limiter.hpp"

namespace tether::ledger {

std::optional<std::size_t> RejectionLogLimiter::line_due(const std::string& label, attribution::Limit limit,
                                                         session::Clock::time_point now) {
    auto [it, inserted] = entries_.try_emplace({label, limit});
    Entry& entry = it->second;
    if (!inserted && now - entry.last < window_) {
        ++entry.suppressed;
        return std::nullopt;
    }
    const std::size_t suppressed = entry.suppressed;
    entry.last = now;
    entry.suppressed = 0;
    return suppressed;
}

std::vector<RejectionLogLimiter::Suppressed> RejectionLogLimiter::prune(session::Clock::time_point now) {
    std::vector<Suppressed> out;
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (now - it->second.last < 2 * window_) {
            ++it;
            continue;
        }
        if (it->second.suppressed > 0) out.push_back({it->first.first, it->first.second, it->second.suppressed});
        it = entries_.erase(it);
    }
    return out;
}

}  // namespace tether::ledger

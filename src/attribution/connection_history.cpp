// ConnectionHistory: the status page's ring of samples (see connection_history.hpp).
#include "tether/attribution/connection_history.hpp"

#include <algorithm>
#include <cassert>

namespace tether::attribution {

ConnectionHistory::ConnectionHistory(std::chrono::milliseconds interval)
    : interval_(std::max(interval, std::chrono::milliseconds(1))),
      ring_(std::max<std::size_t>(1, static_cast<std::size_t>(std::chrono::milliseconds(window) / interval_))) {}

bool ConnectionHistory::due(session::Clock::time_point now) const { return !sampled_ || now - last_ >= interval_; }

void ConnectionHistory::record(session::Clock::time_point now, std::int64_t unix_seconds,
                               std::vector<std::pair<std::string, std::uint64_t>> counts) {
    sampled_ = true;
    last_ = now;
    HistorySample& sample = ring_[next_];
    sample.unix_seconds = unix_seconds;
    sample.total = 0;
    for (const auto& entry : counts) sample.total += entry.second;
    const auto busiest_first = [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    };
    const std::size_t kept = std::min(counts.size(), top_clients);
    std::partial_sort(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(kept), counts.end(), busiest_first);
    counts.resize(kept);
    while (!counts.empty() && counts.back().second == 0) counts.pop_back();  // a client with none open is not on the chart
    sample.clients = std::move(counts);
    sample.clients.shrink_to_fit();  // a sample keeps top_clients entries, never the whole input's capacity
    next_ = (next_ + 1) % ring_.size();
    size_ = std::min(size_ + 1, ring_.size());
}

const HistorySample& ConnectionHistory::at(std::size_t i) const {
    assert(i < size_);
    const std::size_t oldest = size_ < ring_.size() ? 0 : next_;
    return ring_[(oldest + i) % ring_.size()];
}

}  // namespace tether::attribution

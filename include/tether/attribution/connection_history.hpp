// The status page's memory of the last hour: a fixed ring of samples of how
// many sessions were open, in total and for the busiest clients.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tether/session/command_tracker.hpp"

namespace tether::attribution {

// One moment: the open sessions in total, and the top clients' own counts
// (largest first; ties by label, so a sample does not depend on map order).
struct HistorySample {
    std::int64_t unix_seconds = 0;
    std::uint64_t total = 0;
    std::vector<std::pair<std::string, std::uint64_t>> clients;
};

// Bounded by itself, not only by the label budget that bounds the labels:
// window / interval samples at most, each with at most top_clients clients.
// A new sample over a full ring replaces the oldest.
class ConnectionHistory {
public:
    static constexpr std::size_t top_clients = 10;
    static constexpr std::chrono::seconds window{3600};

    // `interval`: how often a sample is due (--status-sample-interval).
    explicit ConnectionHistory(std::chrono::milliseconds interval);

    // Whether a sample is due at `now` (the first one is due at once).
    [[nodiscard]] bool due(session::Clock::time_point now) const;
    // Records the counts of every client with open sessions at `now` (wall
    // time `unix_seconds`, for the page's axis). Clients beyond the top
    // ones only count towards the total.
    void record(session::Clock::time_point now, std::int64_t unix_seconds,
                std::vector<std::pair<std::string, std::uint64_t>> counts);

    [[nodiscard]] std::chrono::milliseconds interval() const { return interval_; }
    [[nodiscard]] std::size_t capacity() const { return ring_.size(); }
    [[nodiscard]] std::size_t size() const { return size_; }
    // The i-th sample, oldest first (i < size()).
    [[nodiscard]] const HistorySample& at(std::size_t i) const;

private:
    std::chrono::milliseconds interval_;
    std::vector<HistorySample> ring_;  // sized once: capacity() samples
    std::size_t next_ = 0;             // where the next sample goes
    std::size_t size_ = 0;
    bool sampled_ = false;
    session::Clock::time_point last_{};
};

}  // namespace tether::attribution

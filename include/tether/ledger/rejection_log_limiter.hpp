// The rate limit of connection_rejected log lines: at most one per client
// label and limit in a window, with how many refusals it did not log.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tether/attribution/admission.hpp"
#include "tether/session/session.hpp"

namespace tether::ledger {

// A pool that retries in a loop must not flood the log, but its name must be
// in it. Keyed by the metrics label, not the raw name the client chose, so
// made-up names share "_other" (bounded by --max-client-labels) and refusals
// at accept share the empty label; entries idle for two windows are pruned.
class RejectionLogLimiter {
public:
    static constexpr std::chrono::seconds default_window{10};

    explicit RejectionLogLimiter(session::Clock::duration window = default_window) : window_(window) {}

    // A refusal under `label` and `limit` at `now`. A line is due: returns how
    // many refusals under the same key were suppressed since the last line.
    // Suppressed: nullopt (it is counted for the next line).
    std::optional<std::size_t> line_due(const std::string& label, attribution::Limit limit, session::Clock::time_point now);

    struct Suppressed {
        std::string label;
        attribution::Limit limit = attribution::Limit::total;
        std::size_t count = 0;
    };
    // Forgets entries two windows past their last line; returns those that
    // still held suppressed refusals, for one last line each. (Within the
    // second window the next refusal's line still reports them itself.)
    std::vector<Suppressed> prune(session::Clock::time_point now);

    [[nodiscard]] std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        session::Clock::time_point last{};
        std::size_t suppressed = 0;
    };
    session::Clock::duration window_;
    std::map<std::pair<std::string, attribution::Limit>, Entry> entries_;
};

}  // namespace tether::ledger

// Leak detection (see leak_scan.hpp).
#include "tether/attribution/leak_scan.hpp"

#include <algorithm>

namespace tether::attribution {

IdleJudgement judge_idle(const SessionIdleState& state, const IdlePolicy& policy) {
    IdleJudgement j;
    if (!state.tracked || !state.idle) return j;  // never judge a running command, nor a session we cannot follow
    j.suspect = state.idle_for >= policy.suspect_after;
    if (policy.idle_timeout.count() > 0 && state.idle_for >= policy.idle_timeout) j.close = true;
    if (state.in_transaction && policy.idle_in_transaction_timeout.count() > 0 &&
        state.idle_for >= policy.idle_in_transaction_timeout) {
        j.close = true;
    }
    return j;
}

void LeakTally::add(const LabelPair& labels, const SessionIdleState& state, const IdleJudgement& judgement) {
    PairLeakStats& s = pairs_[labels];
    ++s.open;
    if (state.tracked && state.idle) {
        s.max_idle_seconds = std::max(s.max_idle_seconds, std::chrono::duration<double>(state.idle_for).count());
    }
    if (judgement.suspect) {
        ++s.suspects;
        ++suspects_;
        if (state.in_transaction) ++s.idle_in_transaction;
    }
}

std::vector<LeakReportRow> LeakReporter::report(const LeakTally& tally, std::size_t top) {
    std::vector<LeakReportRow> rows;
    for (const auto& [labels, stats] : tally.pairs()) {
        auto it = previous_open_.find(labels);
        const long long before = it == previous_open_.end() ? 0 : static_cast<long long>(it->second);
        rows.push_back({labels, stats, static_cast<long long>(stats.open) - before});
    }
    std::sort(rows.begin(), rows.end(), [](const LeakReportRow& a, const LeakReportRow& b) {
        if (a.stats.open != b.stats.open) return a.stats.open > b.stats.open;
        return a.labels < b.labels;
    });
    previous_open_.clear();
    for (const auto& [labels, stats] : tally.pairs()) previous_open_[labels] = stats.open;
    if (rows.size() > top) rows.resize(top);
    return rows;
}

}  // namespace tether::attribution

// Leak detection over a snapshot of the sessions: which are suspects, which an
// idle policy closes, and the per-client figures the metrics and the report show.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tether::attribution {

struct IdlePolicy {
    std::chrono::milliseconds suspect_after{5 * 60'000};
    std::chrono::milliseconds idle_timeout{0};                 // 0: off
    std::chrono::milliseconds idle_in_transaction_timeout{0};  // 0: off
};

// One session as the janitor sees it.
struct SessionIdleState {
    bool tracked = false;  // logged in and its commands followed; a desynced session gets no idle decisions
    bool idle = false;     // no command in flight
    bool in_transaction = false;
    std::chrono::milliseconds idle_for{0};
};

struct IdleJudgement {
    bool suspect = false;
    bool close = false;  // an idle policy closes it now
};

IdleJudgement judge_idle(const SessionIdleState& state, const IdlePolicy& policy);

struct PairLeakStats {
    std::size_t open = 0;
    std::size_t suspects = 0;
    std::size_t idle_in_transaction = 0;  // suspects holding a transaction open: they hold locks
    double max_idle_seconds = 0;
};

using LabelPair = std::pair<std::string, std::string>;  // client, user

// Per client/user figures of one scan.
class LeakTally {
public:
    void add(const LabelPair& labels, const SessionIdleState& state, const IdleJudgement& judgement);
    [[nodiscard]] const std::map<LabelPair, PairLeakStats>& pairs() const { return pairs_; }
    [[nodiscard]] std::size_t suspects() const { return suspects_; }

private:
    std::map<LabelPair, PairLeakStats> pairs_;
    std::size_t suspects_ = 0;
};

struct LeakReportRow {
    LabelPair labels;
    PairLeakStats stats;
    long long growth = 0;  // open sessions now minus at the previous report
};

// The periodic leak report: the clients with the most open sessions and how
// much each grew since the previous report; growth is what gives a leak away.
class LeakReporter {
public:
    std::vector<LeakReportRow> report(const LeakTally& tally, std::size_t top = 10);

private:
    std::map<LabelPair, std::size_t> previous_open_;
};

}  // namespace tether::attribution

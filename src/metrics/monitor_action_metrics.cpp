// What tether does and learns through its monitor session (see monitor_action_metrics.hpp).
#include "tether/metrics/monitor_action_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <map>

namespace tether::metrics {

struct MonitorActionMetrics::State {
    State(prometheus::Registry& registry, std::size_t max_users)
        : max_users(max_users),
          killed(prometheus::BuildCounter()
                     .Name("tether_orphaned_queries_killed_total")
                     .Help("Server threads tether KILLed through its monitor session because it had ended their session "
                           "with a command still running there (a vanished client, an admin close, the end of the "
                           "shutdown grace)")
                     .Register(registry)
                     .Add({})),
          kill_failed(prometheus::BuildCounter()
                          .Name("tether_orphaned_query_kill_failures_total")
                          .Help("Such KILLs the server refused or that could not be sent (the log line has the server's error)")
                          .Register(registry)
                          .Add({})),
          by_user(prometheus::BuildGauge()
                      .Name("tether_server_connections")
                      .Help("The server's connections by user, from its processlist (--server-connections-by-user), "
                            "including those that do not come through tether")
                      .Register(registry)) {}

    std::size_t max_users;
    prometheus::Counter& killed;
    prometheus::Counter& kill_failed;
    prometheus::Family<prometheus::Gauge>& by_user;
    std::map<std::string, prometheus::Gauge*, std::less<>> series;  // at most max_users + 1
};

MonitorActionMetrics::MonitorActionMetrics(Metrics& metrics, std::size_t max_users)
    : state_(std::make_unique<State>(metrics.registry(), max_users)) {}
MonitorActionMetrics::~MonitorActionMetrics() = default;

void MonitorActionMetrics::orphaned_query_killed() { state_->killed.Increment(); }
void MonitorActionMetrics::orphaned_query_kill_failed() { state_->kill_failed.Increment(); }

void MonitorActionMetrics::set_connections_by_user(const std::vector<std::pair<std::string, std::uint64_t>>& counts) {
    // The largest users keep their names; the budget's rest are summed.
    std::vector<std::pair<std::string, std::uint64_t>> sorted = counts;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::map<std::string, double, std::less<>> next;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        const std::string& user = i < state_->max_users ? sorted[i].first : std::string("_other");
        next[user] += static_cast<double>(sorted[i].second);
    }
    for (auto it = state_->series.begin(); it != state_->series.end();) {
        if (next.count(it->first) == 0) {
            state_->by_user.Remove(it->second);
            it = state_->series.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& [user, n] : next) {
        auto it = state_->series.find(user);
        if (it == state_->series.end()) it = state_->series.emplace(user, &state_->by_user.Add({{"user", user}})).first;
        it->second->Set(n);
    }
}

void MonitorActionMetrics::clear_connections_by_user() { set_connections_by_user({}); }

}  // namespace tether::metrics

// MonitorActionMetrics: KILLs of orphaned queries, and the server's connections by user under a label budget.
#include <doctest/doctest.h>

#include <chrono>

#include "exposition.hpp"
#include "tether/metrics/monitor_action_metrics.hpp"

using namespace std::chrono_literals;
using tether::metrics::Metrics;
using tether::metrics::MonitorActionMetrics;
using namespace tether::metrics::test;

TEST_CASE("kills and failed kills are counted apart, from zero") {
    Metrics m(config_with(0s));
    MonitorActionMetrics s(m, 10);
    CHECK(sample(m.render(), "tether_orphaned_queries_killed_total") == 0.0);
    s.orphaned_query_killed();
    s.orphaned_query_killed();
    s.orphaned_query_kill_failed();
    CHECK(sample(m.render(), "tether_orphaned_queries_killed_total") == 2.0);
    CHECK(sample(m.render(), "tether_orphaned_query_kill_failures_total") == 1.0);
}

TEST_CASE("connections by user: a snapshot replaces the last one, the largest users keep their names") {
    Metrics m(config_with(0s));
    MonitorActionMetrics s(m, 2);
    s.set_connections_by_user({{"app", 30}, {"report", 5}, {"root", 1}, {"etl", 2}});
    auto text = m.render();
    CHECK(sample(text, "tether_server_connections{user=\"app\"}") == 30.0);
    CHECK(sample(text, "tether_server_connections{user=\"report\"}") == 5.0);
    CHECK(sample(text, "tether_server_connections{user=\"_other\"}") == 3.0);
    CHECK_FALSE(sample(text, "tether_server_connections{user=\"root\"}"));
    s.set_connections_by_user({{"app", 31}});
    text = m.render();
    CHECK(sample(text, "tether_server_connections{user=\"app\"}") == 31.0);
    CHECK_FALSE(sample(text, "tether_server_connections{user=\"report\"}"));
    CHECK_FALSE(sample(text, "tether_server_connections{user=\"_other\"}"));
    s.clear_connections_by_user();
    CHECK_FALSE(any_sample(m.render(), "tether_server_connections{"));
}

TEST_CASE("connections by user: thousands of distinct users stay within the budget") {
    Metrics m(config_with(0s));
    MonitorActionMetrics s(m, 100);
    std::vector<std::pair<std::string, std::uint64_t>> many;
    for (int i = 0; i < 5000; ++i) many.emplace_back("u" + std::to_string(i), 1);
    s.set_connections_by_user(many);
    std::size_t series = 0;
    for (const auto& line : sample_lines(m.render())) series += line.rfind("tether_server_connections{", 0) == 0;
    CHECK(series == 101);
    CHECK(sample(m.render(), "tether_server_connections{user=\"_other\"}") == 4900.0);
}

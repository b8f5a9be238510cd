// Metrics::pair_statuses: the status page's per client/user figures, read from the series.
#include <doctest/doctest.h>

#include <chrono>

#include "tether/metrics/metrics.hpp"

using namespace std::chrono_literals;
using tether::metrics::Clock;
using tether::metrics::Metrics;
using tether::metrics::MetricsConfig;

TEST_CASE("pair_statuses gives open, leak figures and rejections summed over the limits") {
    Metrics m(MetricsConfig{});
    const auto billing = m.hold_labels("billing", "app");
    m.session_opened(billing);
    m.session_opened(billing);
    m.set_leak_stats(billing, 2, 31.5, 1);
    m.rejected(billing, "client");
    m.rejected(billing, "client");
    m.rejected(billing, "total");
    const auto web = m.hold_labels("web", "reader");
    m.rejected(web, "user");  // refused, never open: still on the page
    m.hold_labels("quiet", "app");  // neither open nor refused: not shown

    const auto pairs = m.pair_statuses();
    REQUIRE(pairs.size() == 2);
    CHECK(pairs[0].client == "billing");
    CHECK(pairs[0].user == "app");
    CHECK(pairs[0].open == 2);
    CHECK(pairs[0].suspects == 2);
    CHECK(pairs[0].max_idle_seconds == 31.5);
    CHECK(pairs[0].idle_in_transaction == 1);
    CHECK(pairs[0].rejected == 3);
    CHECK(pairs[1].client == "web");
    CHECK(pairs[1].open == 0);
    CHECK(pairs[1].rejected == 1);
}

TEST_CASE("pair_statuses follows the series: the leak figures reset at zero open, the pair goes with the sweep") {
    MetricsConfig config;
    config.series_linger = 0s;
    Metrics m(config);
    const auto labels = m.hold_labels("billing", "app");
    m.session_opened(labels);
    m.set_leak_stats(labels, 1, 10, 0);
    m.session_ended_open(labels);
    CHECK(m.pair_statuses().empty());

    m.rejected(labels, "client");
    m.release_labels(labels, Clock::time_point{} + 100s);
    REQUIRE(m.pair_statuses().size() == 1);
    CHECK(m.pair_statuses()[0].suspects == 0);
    m.sweep(Clock::time_point{} + 100s);
    CHECK(m.pair_statuses().empty());
}

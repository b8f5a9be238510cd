// Metrics: the leak gauges (tether_leak_suspects, tether_client_max_idle_seconds,
// tether_idle_in_transaction) and tether_rejected_connections_total, read from render().
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "exposition.hpp"
#include "tether/metrics/metrics.hpp"

using namespace std::chrono_literals;
using tether::metrics::Clock;
using tether::metrics::Metrics;
using tether::metrics::MetricsConfig;
using tether::metrics::SessionLabels;

using namespace tether::metrics::test;

namespace {


bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::string pair_series(const std::string& name, const std::string& client, const std::string& user) {
    return name + "{client=\"" + client + "\",user=\"" + user + "\"}";
}

std::string rejected_series(const std::string& client, const std::string& user, const std::string& limit) {
    return "tether_rejected_connections_total{client=\"" + client + "\",limit=\"" + limit + "\",user=\"" + user +
           "\"}";
}

const Clock::time_point t0 = Clock::time_point{} + 1'000'000s;

const std::vector<std::string> leak_gauges{"tether_leak_suspects", "tether_client_max_idle_seconds",
                                           "tether_idle_in_transaction"};

}  // namespace

TEST_CASE("The leak and rejection families have no samples before any session or rejection") {
    Metrics m(config_with(60s));
    const auto text = m.render();
    for (const auto& name : leak_gauges) {
        CAPTURE(name);
        CHECK_FALSE(any_sample(text, name + "{"));
    }
    CHECK_FALSE(any_sample(text, "tether_rejected_connections_total{"));
}

TEST_CASE("The leak and rejection families have HELP and TYPE lines once they have a series") {
    Metrics m(config_with(60s));
    const auto labels = m.hold_labels("app", "u");
    m.session_opened(labels);
    m.rejected(labels, "total");
    const auto text = m.render();
    for (const auto& name : leak_gauges) {
        CAPTURE(name);
        CHECK(contains(text, "# HELP " + name + " "));
        CHECK(contains(text, "# TYPE " + name + " gauge"));
    }
    CHECK(contains(text, "# HELP tether_rejected_connections_total "));
    CHECK(contains(text, "# TYPE tether_rejected_connections_total counter"));
}

TEST_CASE("The leak gauges appear at 0 with tether_client_connections") {
    Metrics m(config_with(60s));
    const auto labels = m.hold_labels("app", "u");
    // Held but not yet logged in: no leak gauges.
    auto text = m.render();
    for (const auto& name : leak_gauges) CHECK_FALSE(any_sample(text, name + "{"));

    m.session_opened(labels);
    text = m.render();
    CHECK(sample(text, pair_series("tether_client_connections", "app", "u")) == 1.0);
    for (const auto& name : leak_gauges) {
        CAPTURE(name);
        CHECK(sample(text, pair_series(name, "app", "u")) == 0.0);
    }
}

TEST_CASE("set_leak_stats sets the three gauges of the pair") {
    Metrics m(config_with(60s));
    const auto a = m.hold_labels("app", "u");
    const auto b = m.hold_labels("batch", "w");
    m.session_opened(a);
    m.session_opened(b);
    m.set_leak_stats(a, 3, 421.5, 2);
    auto text = m.render();
    CHECK(sample(text, pair_series("tether_leak_suspects", "app", "u")) == 3.0);
    CHECK(sample(text, pair_series("tether_client_max_idle_seconds", "app", "u")) == 421.5);
    CHECK(sample(text, pair_series("tether_idle_in_transaction", "app", "u")) == 2.0);
    // The other pair is untouched.
    CHECK(sample(text, pair_series("tether_leak_suspects", "batch", "w")) == 0.0);
    CHECK(sample(text, pair_series("tether_client_max_idle_seconds", "batch", "w")) == 0.0);
    CHECK(sample(text, pair_series("tether_idle_in_transaction", "batch", "w")) == 0.0);

    // A later scan overwrites the values (gauges, not counters), down to 0.
    m.set_leak_stats(a, 1, 12, 0);
    text = m.render();
    CHECK(sample(text, pair_series("tether_leak_suspects", "app", "u")) == 1.0);
    CHECK(sample(text, pair_series("tether_client_max_idle_seconds", "app", "u")) == 12.0);
    CHECK(sample(text, pair_series("tether_idle_in_transaction", "app", "u")) == 0.0);
}

TEST_CASE("set_leak_stats on a pair without open sessions creates no series") {
    Metrics m(config_with(60s));
    // Unknown pair.
    m.set_leak_stats({"ghost", "nobody"}, 5, 100, 1);
    auto text = m.render();
    for (const auto& name : leak_gauges) CHECK_FALSE(any_sample(text, name + "{"));

    // Held but never logged in.
    const auto held = m.hold_labels("held", "u");
    m.set_leak_stats(held, 5, 100, 1);
    text = m.render();
    for (const auto& name : leak_gauges) CHECK_FALSE(any_sample(text, name + "{"));
    CHECK_FALSE(any_sample(text, "tether_client_connections{"));
}

TEST_CASE("The leak gauges go with tether_client_connections when the count reaches 0") {
    Metrics m(config_with(60s));
    const auto labels = m.hold_labels("app", "u");
    const auto labels2 = m.hold_labels("app", "u");
    m.session_opened(labels);
    m.session_opened(labels2);
    m.set_leak_stats(labels, 2, 600, 1);

    m.session_ended_open(labels);
    auto text = m.render();
    // One session left: the series stay, with the values the last scan set.
    CHECK(sample(text, pair_series("tether_client_connections", "app", "u")) == 1.0);
    CHECK(sample(text, pair_series("tether_leak_suspects", "app", "u")) == 2.0);
    CHECK(sample(text, pair_series("tether_client_max_idle_seconds", "app", "u")) == 600.0);
    CHECK(sample(text, pair_series("tether_idle_in_transaction", "app", "u")) == 1.0);

    m.session_ended_open(labels2);
    text = m.render();
    CHECK_FALSE(any_sample(text, "tether_client_connections{"));
    for (const auto& name : leak_gauges) {
        CAPTURE(name);
        CHECK_FALSE(any_sample(text, name + "{"));
    }

    // A scan after the last session ended does not bring them back.
    m.set_leak_stats(labels, 1, 1, 1);
    text = m.render();
    for (const auto& name : leak_gauges) CHECK_FALSE(any_sample(text, name + "{"));
}

TEST_CASE("A pair that logs in again gets fresh leak gauges at 0") {
    Metrics m(config_with(60s));
    const auto labels = m.hold_labels("app", "u");
    m.session_opened(labels);
    m.set_leak_stats(labels, 4, 900, 3);
    m.session_ended_open(labels);
    m.session_opened(labels);
    const auto text = m.render();
    CHECK(sample(text, pair_series("tether_client_connections", "app", "u")) == 1.0);
    for (const auto& name : leak_gauges) {
        CAPTURE(name);
        CHECK(sample(text, pair_series(name, "app", "u")) == 0.0);
    }
}

TEST_CASE("The leak gauges of a pair folded to _other are under _other") {
    Metrics m(config_with(60s, 1));
    const auto first = m.hold_labels("first", "u");
    const auto second = m.hold_labels("second", "u");
    REQUIRE(second.client == "_other");
    m.session_opened(first);
    m.session_opened(second);
    m.set_leak_stats(second, 1, 30, 0);
    const auto text = m.render();
    CHECK(sample(text, pair_series("tether_leak_suspects", "_other", "u")) == 1.0);
    CHECK(sample(text, pair_series("tether_client_max_idle_seconds", "_other", "u")) == 30.0);
    CHECK(sample(text, pair_series("tether_leak_suspects", "first", "u")) == 0.0);
}

TEST_CASE("rejected counts by client, user and limit") {
    Metrics m(config_with(60s));
    const auto a = m.hold_labels("app", "u");
    m.rejected(a, "client");
    m.rejected(a, "client");
    m.rejected(a, "total");
    const auto b = m.hold_labels("batch", "w");
    m.rejected(b, "user");
    const auto text = m.render();
    CHECK(sample(text, rejected_series("app", "u", "client")) == 2.0);
    CHECK(sample(text, rejected_series("app", "u", "total")) == 1.0);
    CHECK_FALSE(sample(text, rejected_series("app", "u", "user")).has_value());
    CHECK(sample(text, rejected_series("batch", "w", "user")) == 1.0);
    CHECK_FALSE(sample(text, rejected_series("batch", "w", "client")).has_value());
}

TEST_CASE("A rejected login counts neither a connection nor a login") {
    Metrics m(config_with(60s));
    const auto a = m.hold_labels("app", "u");
    m.rejected(a, "total");
    const auto text = m.render();
    CHECK_FALSE(any_sample(text, "tether_client_connections{"));
    CHECK(sample(text, pair_series("tether_connections_opened_total", "app", "u")) == 0.0);
    for (const auto& name : leak_gauges) CHECK_FALSE(any_sample(text, name + "{"));
    CHECK(m.client_connections(a) == 0.0);
}

TEST_CASE("rejected outlives the session by the linger, then sweep removes it with the pair's counters") {
    Metrics m(config_with(60s));
    const auto a = m.hold_labels("app", "u");
    m.rejected(a, "client");
    m.rejected(a, "user");
    m.auth_failed(a);
    m.release_labels(a, t0);

    const auto client_limit = rejected_series("app", "u", "client");
    const auto user_limit = rejected_series("app", "u", "user");
    m.sweep(t0);
    auto text = m.render();
    CHECK(sample(text, client_limit) == 1.0);
    CHECK(sample(text, user_limit) == 1.0);
    m.sweep(t0 + 59s);
    text = m.render();
    CHECK(sample(text, client_limit) == 1.0);
    CHECK(sample(text, user_limit) == 1.0);
    CHECK(sample(text, pair_series("tether_connections_opened_total", "app", "u")) == 0.0);

    m.sweep(t0 + 60s);
    text = m.render();
    CHECK_FALSE(any_sample(text, "tether_rejected_connections_total{"));
    CHECK_FALSE(any_sample(text, "tether_connections_opened_total{"));
    CHECK_FALSE(any_sample(text, "tether_auth_failures_total{"));
}

TEST_CASE("sweep keeps rejected counters while a session holds the pair") {
    Metrics m(config_with(0s));
    const auto a = m.hold_labels("app", "u");
    m.rejected(a, "total");
    m.sweep(t0 + 10'000s);
    CHECK(sample(m.render(), rejected_series("app", "u", "total")) == 1.0);

    // Another session of the pair logged in and still open: kept after the first is released.
    const auto b = m.hold_labels("app", "u");
    m.session_opened(b);
    m.release_labels(a, t0);
    m.sweep(t0 + 10'000s);
    CHECK(sample(m.render(), rejected_series("app", "u", "total")) == 1.0);

    // Released but still counted open: kept.
    m.release_labels(b, t0);
    m.sweep(t0 + 10'000s);
    CHECK(sample(m.render(), rejected_series("app", "u", "total")) == 1.0);

    // Gone once the connection count is 0 and no one holds the labels.
    m.session_ended_open(b);
    m.sweep(t0 + 10'000s);
    CHECK_FALSE(any_sample(m.render(), "tether_rejected_connections_total{"));
}

TEST_CASE("A rejected counter starts again from 0 after its pair was swept") {
    Metrics m(config_with(0s));
    auto a = m.hold_labels("app", "u");
    m.rejected(a, "client");
    m.rejected(a, "client");
    m.release_labels(a, t0);
    m.sweep(t0);
    CHECK_FALSE(any_sample(m.render(), "tether_rejected_connections_total{"));

    a = m.hold_labels("app", "u");
    m.rejected(a, "client");
    CHECK(sample(m.render(), rejected_series("app", "u", "client")) == 1.0);
}

TEST_CASE("A pair held again during its linger keeps its rejected counts") {
    Metrics m(config_with(60s));
    auto a = m.hold_labels("app", "u");
    m.rejected(a, "user");
    m.release_labels(a, t0);
    a = m.hold_labels("app", "u");
    m.sweep(t0 + 3600s);
    m.rejected(a, "user");
    CHECK(sample(m.render(), rejected_series("app", "u", "user")) == 2.0);
}

TEST_CASE("Rejections of clients past the label budget are counted under _other") {
    Metrics m(config_with(60s, 1));
    const auto first = m.hold_labels("first", "u");
    const auto second = m.hold_labels("second", "u");
    const auto third = m.hold_labels("third", "u");
    m.rejected(first, "client");
    m.rejected(second, "client");
    m.rejected(third, "client");
    const auto text = m.render();
    CHECK(sample(text, rejected_series("first", "u", "client")) == 1.0);
    CHECK(sample(text, rejected_series("_other", "u", "client")) == 2.0);
    CHECK_FALSE(sample(text, rejected_series("second", "u", "client")).has_value());
}

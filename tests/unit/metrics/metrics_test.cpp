// Metrics: series lifecycle, label budget and the rendered text exposition.
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
using tether::session::all_close_reasons;
using tether::session::close_reason_name;
using tether::session::CloseReason;

using namespace tether::metrics::test;

namespace {


const Clock::time_point t0 = Clock::time_point{} + 1'000'000s;

}  // namespace

TEST_CASE("An opened session shows as tether_client_connections 1") {
    Metrics m(config_with(60s));
    const auto labels = m.hold_labels("a", "u");
    CHECK(labels.client == "a");
    CHECK(labels.user == "u");
    m.session_opened(labels);
    const auto text = m.render();
    CHECK(sample(text, R"(tether_client_connections{client="a",user="u"})") == 1.0);
    CHECK(sample(text, R"(tether_connections_opened_total{client="a",user="u"})") == 1.0);
    CHECK(m.client_connections(labels) == 1.0);
}

TEST_CASE("Holding labels alone does not count a connection") {
    Metrics m(config_with(60s));
    const auto labels = m.hold_labels("a", "u");
    const auto text = m.render();
    CHECK_FALSE(any_sample(text, "tether_client_connections{"));
    CHECK(sample(text, R"(tether_connections_opened_total{client="a",user="u"})") == 0.0);
    CHECK(m.client_connections(labels) == 0.0);
}

TEST_CASE("tether_client_connections counts sessions per pair and its series goes at zero") {
    Metrics m(config_with(60s));
    const auto a = m.hold_labels("a", "u");
    const auto a2 = m.hold_labels("a", "u");
    const auto b = m.hold_labels("b", "u");
    m.session_opened(a);
    m.session_opened(a2);
    m.session_opened(b);
    auto text = m.render();
    CHECK(sample(text, R"(tether_client_connections{client="a",user="u"})") == 2.0);
    CHECK(sample(text, R"(tether_client_connections{client="b",user="u"})") == 1.0);
    CHECK(sample(text, R"(tether_connections_opened_total{client="a",user="u"})") == 2.0);

    m.session_ended_open(a);
    text = m.render();
    CHECK(sample(text, R"(tether_client_connections{client="a",user="u"})") == 1.0);

    m.session_ended_open(a2);
    text = m.render();
    CHECK_FALSE(any_sample(text, R"(tether_client_connections{client="a")"));
    CHECK(sample(text, R"(tether_client_connections{client="b",user="u"})") == 1.0);
    CHECK(m.client_connections(a) == 0.0);

    // One end too many neither goes negative nor brings the series back.
    m.session_ended_open(a);
    text = m.render();
    CHECK_FALSE(any_sample(text, R"(tether_client_connections{client="a")"));
    CHECK(m.client_connections(a) == 0.0);

    // And a new session brings it back at 1.
    m.session_opened(a);
    CHECK(sample(m.render(), R"(tether_client_connections{client="a",user="u"})") == 1.0);
}

TEST_CASE("opened_total outlives the session by the linger, then sweep removes it") {
    Metrics m(config_with(60s));
    const auto labels = m.hold_labels("a", "u");
    m.session_opened(labels);
    m.session_ended_open(labels);
    m.release_labels(labels, t0);

    const std::string opened = R"(tether_connections_opened_total{client="a",user="u"})";
    CHECK(sample(m.render(), opened) == 1.0);

    m.sweep(t0);
    CHECK(sample(m.render(), opened) == 1.0);
    m.sweep(t0 + 59s);
    CHECK(sample(m.render(), opened) == 1.0);
    m.sweep(t0 + 60s);
    CHECK_FALSE(sample(m.render(), opened).has_value());
    CHECK_FALSE(any_sample(m.render(), "tether_connections_opened_total{"));
}

TEST_CASE("With a linger of 0s the next sweep removes a released pair") {
    Metrics m(config_with(0s));
    const auto labels = m.hold_labels("a", "u");
    m.session_opened(labels);
    m.auth_failed(labels);
    m.session_ended_open(labels);
    m.release_labels(labels, t0);
    CHECK(any_sample(m.render(), "tether_auth_failures_total{"));
    m.sweep(t0);
    const auto text = m.render();
    CHECK_FALSE(any_sample(text, "tether_connections_opened_total{"));
    CHECK_FALSE(any_sample(text, "tether_auth_failures_total{"));
    CHECK_FALSE(any_sample(text, "tether_client_connections{"));
}

TEST_CASE("sweep keeps series that a session still holds or that still count connections") {
    Metrics m(config_with(0s));
    const auto held = m.hold_labels("held", "u");
    m.session_opened(held);
    m.sweep(t0 + 10'000s);
    auto text = m.render();
    CHECK(sample(text, R"(tether_connections_opened_total{client="held",user="u"})") == 1.0);
    CHECK(sample(text, R"(tether_client_connections{client="held",user="u"})") == 1.0);

    // Released but still counted open (the end has not been reported yet): kept.
    m.release_labels(held, t0);
    m.sweep(t0 + 10'000s);
    text = m.render();
    CHECK(sample(text, R"(tether_client_connections{client="held",user="u"})") == 1.0);
    CHECK(sample(text, R"(tether_connections_opened_total{client="held",user="u"})") == 1.0);
}

TEST_CASE("A pair held again during its linger keeps its counter value") {
    Metrics m(config_with(60s));
    auto labels = m.hold_labels("a", "u");
    m.session_opened(labels);
    m.session_ended_open(labels);
    m.release_labels(labels, t0);

    labels = m.hold_labels("a", "u");
    m.sweep(t0 + 3600s);
    m.session_opened(labels);
    CHECK(sample(m.render(), R"(tether_connections_opened_total{client="a",user="u"})") == 2.0);
}

TEST_CASE("A third client past max_client_labels=2 is counted as _other") {
    Metrics m(config_with(60s, 2));
    const auto a = m.hold_labels("a", "u");
    const auto b = m.hold_labels("b", "u");
    const auto c = m.hold_labels("c", "u");
    CHECK(a.client == "a");
    CHECK(b.client == "b");
    CHECK(c.client == "_other");
    CHECK(c.user == "u");
    m.session_opened(a);
    m.session_opened(b);
    m.session_opened(c);
    const auto text = m.render();
    CHECK(sample(text, R"(tether_client_connections{client="_other",user="u"})") == 1.0);
    CHECK_FALSE(any_sample(text, R"(tether_client_connections{client="c")"));
    CHECK_FALSE(any_sample(text, R"(tether_connections_opened_total{client="c")"));

    // A client already held keeps its own label.
    CHECK(m.hold_labels("a", "u").client == "a");
    CHECK(m.hold_labels("d", "u").client == "_other");
}

TEST_CASE("The user label has its own budget") {
    Metrics m(config_with(60s, 2));
    CHECK(m.hold_labels("a", "u1").user == "u1");
    CHECK(m.hold_labels("a", "u2").user == "u2");
    const auto third = m.hold_labels("a", "u3");
    CHECK(third.client == "a");
    CHECK(third.user == "_other");
}

TEST_CASE("A client label slot frees up once its series are swept") {
    Metrics m(config_with(0s, 2));
    const auto a = m.hold_labels("a", "u");
    const auto b = m.hold_labels("b", "u");
    m.release_labels(a, t0);
    m.sweep(t0);
    CHECK(m.hold_labels("c", "u").client == "c");
    static_cast<void>(b);
}

TEST_CASE("closed_total has every reason from the start at 0") {
    Metrics m(config_with(60s));
    const auto text = m.render();
    for (auto reason : all_close_reasons) {
        const std::string series =
            "tether_connections_closed_total{reason=\"" + std::string(close_reason_name(reason)) + "\"}";
        CAPTURE(series);
        CHECK(sample(text, series) == 0.0);
    }
}

TEST_CASE("session_closed counts the reason and observes the duration") {
    Metrics m(config_with(60s));
    m.session_closed(CloseReason::client_quit, 0.5);
    m.session_closed(CloseReason::client_quit, 2.0);
    m.session_closed(CloseReason::upstream_closed, 120.0);
    const auto text = m.render();
    CHECK(sample(text, R"(tether_connections_closed_total{reason="client_quit"})") == 2.0);
    CHECK(sample(text, R"(tether_connections_closed_total{reason="upstream_closed"})") == 1.0);
    CHECK(sample(text, R"(tether_connections_closed_total{reason="rejected"})") == 0.0);
    CHECK(sample(text, "tether_connection_duration_seconds_count") == 3.0);
    CHECK(sample(text, "tether_connection_duration_seconds_sum") == doctest::Approx(122.5));
    CHECK(sample(text, R"(tether_connection_duration_seconds_bucket{le="0.1"})") == 0.0);
    CHECK(sample(text, R"(tether_connection_duration_seconds_bucket{le="1"})") == 1.0);
    CHECK(sample(text, R"(tether_connection_duration_seconds_bucket{le="10"})") == 2.0);
    CHECK(sample(text, R"(tether_connection_duration_seconds_bucket{le="300"})") == 3.0);
    CHECK(sample(text, R"(tether_connection_duration_seconds_bucket{le="+Inf"})") == 3.0);
}

TEST_CASE("The duration histogram is there before any session closes") {
    Metrics m(config_with(60s));
    const auto text = m.render();
    CHECK(text.find("# TYPE tether_connection_duration_seconds histogram") != std::string::npos);
    CHECK(sample(text, "tether_connection_duration_seconds_count") == 0.0);
    CHECK(sample(text, "tether_connection_duration_seconds_sum") == 0.0);
    for (const std::string le : {"0.01", "0.1", "1", "10", "60", "300", "1800", "3600", "14400", "86400", "+Inf"}) {
        CAPTURE(le);
        CHECK(sample(text, std::string("tether_connection_duration_seconds_bucket{le=\"") + le + "\"}") == 0.0);
    }
}

TEST_CASE("tether_build_info carries the version and is 1") {
    Metrics m(config_with(60s));
    const auto text = m.render();
    CHECK(sample(text, R"(tether_build_info{version="9.8.7-test"})") == 1.0);
    CHECK(text.find("# TYPE tether_build_info gauge") != std::string::npos);
}

TEST_CASE("Process metrics are read at render time") {
    Metrics m(config_with(60s));
    const auto text = m.render();
    const auto fds = sample(text, "process_open_fds");
    const auto rss = sample(text, "process_resident_memory_bytes");
    REQUIRE(fds.has_value());
    REQUIRE(rss.has_value());
    CHECK(*fds > 0);
    CHECK(*rss > 0);
}

TEST_CASE("auth_failed counts by client and user") {
    Metrics m(config_with(60s));
    const auto labels = m.hold_labels("billing", "app");
    m.auth_failed(labels);
    m.auth_failed(labels);
    const auto text = m.render();
    CHECK(sample(text, R"(tether_auth_failures_total{client="billing",user="app"})") == 2.0);
    // A refused login is not a client connection.
    CHECK_FALSE(any_sample(text, "tether_client_connections{"));
    CHECK(sample(text, R"(tether_connections_opened_total{client="billing",user="app"})") == 0.0);
}

TEST_CASE("Unlabelled counters and the upstream gauge move with their events") {
    Metrics m(config_with(60s));
    auto text = m.render();
    CHECK(sample(text, "tether_orphans_closed_total") == 0.0);
    CHECK(sample(text, R"(tether_upstream_refusals_total{code="1040"})") == 0.0);
    CHECK(sample(text, "tether_upstream_connections") == 0.0);

    m.orphan_closed();
    m.upstream_refused(1040);
    m.upstream_opened();
    m.upstream_opened();
    m.upstream_closed();
    text = m.render();
    CHECK(sample(text, "tether_orphans_closed_total") == 1.0);
    CHECK(sample(text, R"(tether_upstream_refusals_total{code="1040"})") == 1.0);
    CHECK(sample(text, "tether_upstream_connections") == 1.0);
}

TEST_CASE("Upstream refusals are counted by the server's code, in a bounded set of series") {
    Metrics m(config_with(60s));
    m.upstream_refused(1129);
    m.upstream_refused(1129);
    m.upstream_refused(std::nullopt);  // an ERR that could not be read
    auto text = m.render();
    CHECK(sample(text, R"(tether_upstream_refusals_total{code="1129"})") == 2.0);
    CHECK(sample(text, R"(tether_upstream_refusals_total{code="1130"})") == 0.0);
    CHECK(sample(text, R"(tether_upstream_refusals_total{code="unknown"})") == 1.0);
    // A server (or whatever answers on its address) making up codes gets 16 series and "other".
    for (std::uint16_t code = 2000; code < 2100; ++code) m.upstream_refused(code);
    text = m.render();
    std::size_t series = 0;
    for (std::size_t at = 0; (at = text.find("tether_upstream_refusals_total{", at)) != std::string::npos; ++at) ++series;
    CHECK(series == 17);
    CHECK(sample(text, R"(tether_upstream_refusals_total{code="other"})") == 100.0 - (16 - 4));  // 1040, 1129, 1130 and unknown came first
}

TEST_CASE("Desyncs are counted by a reason from a fixed set, every one exported from the start") {
    Metrics m(config_with(60s));
    auto text = m.render();
    for (auto reason : tether::session::all_desync_reasons) {
        const std::string series = R"(tether_protocol_desyncs_total{reason=")" + std::string(tether::session::desync_reason_name(reason)) + R"("})";
        CAPTURE(series);
        CHECK(sample(text, series) == 0.0);
    }
    m.desynced(tether::session::DesyncReason::pipeline_limit);
    m.desynced(tether::session::DesyncReason::pipeline_limit);
    m.desynced(tether::session::DesyncReason::server_packet);
    text = m.render();
    CHECK(sample(text, R"(tether_protocol_desyncs_total{reason="pipeline_limit"})") == 2.0);
    CHECK(sample(text, R"(tether_protocol_desyncs_total{reason="server_packet"})") == 1.0);
    CHECK(sample(text, R"(tether_protocol_desyncs_total{reason="unsupported_command"})") == 0.0);
    CHECK_FALSE(sample(text, "tether_protocol_desyncs_total").has_value());
}

TEST_CASE("Every family has HELP and TYPE lines") {
    Metrics m(config_with(60s));
    const auto text = m.render();
    for (const std::string name : {"tether_connections_closed_total", "tether_orphans_closed_total",
                             "tether_protocol_desyncs_total", "tether_upstream_refusals_total",
                             "tether_upstream_connections", "tether_build_info"}) {
        CAPTURE(name);
        CHECK(text.find(std::string("# HELP ") + name + " ") != std::string::npos);
        CHECK(text.find(std::string("# TYPE ") + name + " ") != std::string::npos);
    }
}

TEST_CASE("A swept client's slot goes to a new client even after an overflow to _other") {
    // max_client_labels counts real clients; "_other" is the one value held
    // beyond it, so it must not keep the freed slot for itself.
    Metrics m(config_with(0s, 2));
    const auto a = m.hold_labels("a", "u");
    const auto b = m.hold_labels("b", "u");
    const auto c = m.hold_labels("c", "u");
    REQUIRE(c.client == "_other");
    m.release_labels(a, t0);
    m.sweep(t0);
    REQUIRE_FALSE(any_sample(m.render(), R"(tether_connections_opened_total{client="a")"));
    CHECK(m.hold_labels("d", "u").client == "d");
    static_cast<void>(b);
}

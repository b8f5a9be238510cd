// Metrics: what a session costs in heap allocations once its client/user pair is known.
//
// A client that connects per request (PHP, a pool built per request) takes its
// pair's count from 0 to 1 and back on every request; that must not build and
// free series each time. This binary counts every operator new.
#include <doctest/doctest.h>

#include "../support/allocation_count.hpp"

#include <chrono>

#include "exposition.hpp"
#include "tether/metrics/metrics.hpp"

using tether::test::allocations;

using namespace std::chrono_literals;
using tether::metrics::Clock;
using tether::metrics::Metrics;
using namespace tether::metrics::test;

namespace {

// One whole session of the pair: login (labels held), authenticated, ended, labels released.
void one_session(Metrics& m, Clock::time_point now) {
    const auto labels = m.hold_labels("billing-api", "app");
    m.session_opened(labels);
    m.session_ended_open(labels);
    m.release_labels(labels, now);
}

}  // namespace

TEST_CASE("A session of a pair already counted opens and ends without a heap allocation") {
    Metrics m(config_with(60s));
    const Clock::time_point now = Clock::time_point{} + 1000s;
    one_session(m, now);  // the pair's first session makes its series
    const auto before = allocations();
    for (int i = 0; i < 100; ++i) one_session(m, now);
    CHECK(allocations() - before == 0);
    // The count went back to 0 each time: the gauge is gone, the counter counts them all.
    const auto text = m.render();
    CHECK_FALSE(sample(text, R"(tether_client_connections{client="billing-api",user="app"})").has_value());
    CHECK(sample(text, R"(tether_connections_opened_total{client="billing-api",user="app"})") == 101.0);
}

TEST_CASE("Another session of a pair with one open adds to its gauge without a heap allocation") {
    Metrics m(config_with(60s));
    const Clock::time_point now = Clock::time_point{} + 1000s;
    const auto held = m.hold_labels("billing-api", "app");
    m.session_opened(held);
    one_session(m, now);
    const auto before = allocations();
    for (int i = 0; i < 100; ++i) one_session(m, now);
    CHECK(allocations() - before == 0);
    CHECK(sample(m.render(), R"(tether_client_connections{client="billing-api",user="app"})") == 1.0);
}

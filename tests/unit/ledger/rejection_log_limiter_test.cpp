// RejectionLogLimiter: one line per label and limit a window, the suppressed
// count carried by the next line or by the prune, and bounded entries.
#include <doctest/doctest.h>

#include <string>

#include "tether/ledger/rejection_log_limiter.hpp"

using namespace std::chrono_literals;
using tether::attribution::Limit;
using tether::ledger::RejectionLogLimiter;
using tether::session::Clock;

namespace {
const Clock::time_point t0 = Clock::time_point{} + 1'000'000s;
}  // namespace

TEST_CASE("The first refusal under a key is logged, the rest of its window counted") {
    RejectionLogLimiter limiter(10s);
    CHECK(limiter.line_due("app", Limit::client, t0) == 0u);
    CHECK_FALSE(limiter.line_due("app", Limit::client, t0 + 1s).has_value());
    CHECK_FALSE(limiter.line_due("app", Limit::client, t0 + 9s).has_value());
    // Another limit, another label: their own lines.
    CHECK(limiter.line_due("app", Limit::total, t0 + 2s) == 0u);
    CHECK(limiter.line_due("batch", Limit::client, t0 + 2s) == 0u);
    // The window is over: the next line reports the two it did not log.
    CHECK(limiter.line_due("app", Limit::client, t0 + 10s) == 2u);
    CHECK_FALSE(limiter.line_due("app", Limit::client, t0 + 11s).has_value());
    CHECK(limiter.line_due("app", Limit::client, t0 + 20s) == 1u);
    CHECK(limiter.size() == 3);
}

TEST_CASE("An entry two windows past its last line is pruned, reporting what it still held") {
    RejectionLogLimiter limiter(10s);
    CHECK(limiter.line_due("app", Limit::client, t0) == 0u);
    CHECK_FALSE(limiter.line_due("app", Limit::client, t0 + 1s).has_value());
    CHECK_FALSE(limiter.line_due("app", Limit::client, t0 + 2s).has_value());
    CHECK(limiter.line_due("quiet", Limit::user, t0) == 0u);
    CHECK(limiter.line_due("recent", Limit::user, t0 + 15s) == 0u);

    CHECK(limiter.prune(t0 + 19s).empty());  // within the second window: kept
    CHECK(limiter.size() == 3);
    const auto gone = limiter.prune(t0 + 20s);
    REQUIRE(gone.size() == 1);  // "quiet" had nothing suppressed: dropped without a line
    CHECK(gone[0].label == "app");
    CHECK(gone[0].limit == Limit::client);
    CHECK(gone[0].count == 2);
    CHECK(limiter.size() == 1);
    // Forgotten: its next refusal starts afresh.
    CHECK(limiter.line_due("app", Limit::client, t0 + 21s) == 0u);
}

TEST_CASE("Refusals at accept share the empty label: one entry however many clients") {
    RejectionLogLimiter limiter(10s);
    for (int i = 0; i < 1000; ++i) (void)limiter.line_due("", Limit::handshakes_per_address, t0 + std::chrono::milliseconds(i));
    CHECK(limiter.size() == 1);
    CHECK(limiter.line_due("", Limit::handshakes_per_address, t0 + 10s) == 999u);
}

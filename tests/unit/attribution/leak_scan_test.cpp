// Leak detection: judge_idle, LeakTally and LeakReporter.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tether/attribution/leak_scan.hpp"

using namespace std::chrono_literals;
using tether::attribution::IdleJudgement;
using tether::attribution::IdlePolicy;
using tether::attribution::judge_idle;
using tether::attribution::LabelPair;
using tether::attribution::LeakReporter;
using tether::attribution::LeakReportRow;
using tether::attribution::LeakTally;
using tether::attribution::SessionIdleState;

namespace {

SessionIdleState idle_session(std::chrono::milliseconds idle_for, bool in_transaction = false) {
    SessionIdleState s;
    s.tracked = true;
    s.idle = true;
    s.in_transaction = in_transaction;
    s.idle_for = idle_for;
    return s;
}

IdlePolicy policy(std::chrono::milliseconds suspect_after, std::chrono::milliseconds idle_timeout = 0ms,
                  std::chrono::milliseconds idle_in_transaction_timeout = 0ms) {
    IdlePolicy p;
    p.suspect_after = suspect_after;
    p.idle_timeout = idle_timeout;
    p.idle_in_transaction_timeout = idle_in_transaction_timeout;
    return p;
}

// Adds a session to the tally, judged under `p`, as the janitor does.
void add(LeakTally& tally, const LabelPair& labels, const SessionIdleState& state, const IdlePolicy& p) {
    tally.add(labels, state, judge_idle(state, p));
}

// `open` tracked sessions of one pair, idle for 1s: none a suspect under a 1m threshold.
void add_open(LeakTally& tally, const LabelPair& labels, std::size_t open) {
    for (std::size_t i = 0; i < open; ++i) add(tally, labels, idle_session(1s), policy(1min));
}

const LeakReportRow* row_of(const std::vector<LeakReportRow>& rows, const LabelPair& labels) {
    for (const auto& row : rows) {
        if (row.labels == labels) return &row;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("IdlePolicy defaults: suspects after 5 minutes, both timeouts off") {
    const IdlePolicy p;
    CHECK(p.suspect_after == 5min);
    CHECK(p.idle_timeout == 0ms);
    CHECK(p.idle_in_transaction_timeout == 0ms);
}

TEST_CASE("judge_idle: a session idle past the threshold is a suspect, at the threshold too") {
    const auto p = policy(5min);
    CHECK_FALSE(judge_idle(idle_session(0ms), p).suspect);
    CHECK_FALSE(judge_idle(idle_session(5min - 1ms), p).suspect);
    CHECK(judge_idle(idle_session(5min), p).suspect);
    CHECK(judge_idle(idle_session(5min + 1ms), p).suspect);
    CHECK(judge_idle(idle_session(48h), p).suspect);
    // Being a suspect never closes anything by itself.
    CHECK_FALSE(judge_idle(idle_session(48h), p).close);
    CHECK_FALSE(judge_idle(idle_session(48h, true), p).close);
}

TEST_CASE("judge_idle: a session in a transaction is a suspect like any other") {
    const auto p = policy(1min);
    CHECK(judge_idle(idle_session(1min, true), p).suspect);
    CHECK_FALSE(judge_idle(idle_session(59s, true), p).suspect);
}

TEST_CASE("judge_idle never judges a session with a command in flight") {
    const auto p = policy(1s, 1s, 1s);
    SessionIdleState busy = idle_session(24h, true);
    busy.idle = false;
    const IdleJudgement j = judge_idle(busy, p);
    CHECK_FALSE(j.suspect);
    CHECK_FALSE(j.close);
}

TEST_CASE("judge_idle never judges a session it does not track") {
    const auto p = policy(1s, 1s, 1s);
    SessionIdleState untracked = idle_session(24h, true);
    untracked.tracked = false;
    IdleJudgement j = judge_idle(untracked, p);
    CHECK_FALSE(j.suspect);
    CHECK_FALSE(j.close);

    untracked.idle = false;
    j = judge_idle(untracked, p);
    CHECK_FALSE(j.suspect);
    CHECK_FALSE(j.close);
}

TEST_CASE("judge_idle: the idle timeout closes sessions idle at or past it, in a transaction or not") {
    const auto p = policy(5min, 10min);
    CHECK_FALSE(judge_idle(idle_session(10min - 1ms), p).close);
    CHECK(judge_idle(idle_session(10min), p).close);
    CHECK(judge_idle(idle_session(11min), p).close);
    CHECK(judge_idle(idle_session(10min, true), p).close);
    // Closed and a suspect both.
    const auto j = judge_idle(idle_session(10min), p);
    CHECK(j.suspect);
    CHECK(j.close);
}

TEST_CASE("judge_idle: an idle timeout below the suspect threshold closes sessions that are not suspects") {
    const auto p = policy(5min, 30s);
    const auto j = judge_idle(idle_session(31s), p);
    CHECK(j.close);
    CHECK_FALSE(j.suspect);
}

TEST_CASE("judge_idle: the idle-in-transaction timeout closes only sessions in a transaction") {
    const auto p = policy(5min, 0ms, 20s);
    CHECK(judge_idle(idle_session(20s, true), p).close);
    CHECK(judge_idle(idle_session(1h, true), p).close);
    CHECK_FALSE(judge_idle(idle_session(20s - 1ms, true), p).close);
    CHECK_FALSE(judge_idle(idle_session(20s, false), p).close);
    CHECK_FALSE(judge_idle(idle_session(24h, false), p).close);
}

TEST_CASE("judge_idle: both timeouts together, whichever applies first closes") {
    const auto p = policy(5min, 1h, 30s);
    CHECK(judge_idle(idle_session(30s, true), p).close);        // the transaction timeout
    CHECK_FALSE(judge_idle(idle_session(30s, false), p).close);  // not in a transaction, under 1h
    CHECK(judge_idle(idle_session(1h, false), p).close);         // the idle timeout
}

TEST_CASE("judge_idle: timeouts of 0 are off, however long the session has been idle") {
    const auto p = policy(5min, 0ms, 0ms);
    for (const auto idle_for : {0ms, std::chrono::milliseconds(1s), std::chrono::milliseconds(24h),
                                std::chrono::milliseconds(24h * 365)}) {
        CAPTURE(idle_for.count());
        CHECK_FALSE(judge_idle(idle_session(idle_for), p).close);
        CHECK_FALSE(judge_idle(idle_session(idle_for, true), p).close);
    }
}

TEST_CASE("LeakTally starts empty") {
    const LeakTally tally;
    CHECK(tally.pairs().empty());
    CHECK(tally.suspects() == 0);
}

TEST_CASE("LeakTally counts open sessions and suspects per pair, and suspects in total") {
    const auto p = policy(1min);
    LeakTally tally;
    const LabelPair a{"app", "u"};
    const LabelPair b{"batch", "u"};
    add(tally, a, idle_session(10s), p);
    add(tally, a, idle_session(2min), p);
    add(tally, a, idle_session(3min, true), p);
    add(tally, b, idle_session(1min), p);
    add(tally, b, idle_session(5s), p);

    REQUIRE(tally.pairs().size() == 2);
    const auto& sa = tally.pairs().at(a);
    CHECK(sa.open == 3);
    CHECK(sa.suspects == 2);
    CHECK(sa.idle_in_transaction == 1);
    const auto& sb = tally.pairs().at(b);
    CHECK(sb.open == 2);
    CHECK(sb.suspects == 1);
    CHECK(sb.idle_in_transaction == 0);
    CHECK(tally.suspects() == 3);
}

TEST_CASE("LeakTally: idle_in_transaction counts only suspects holding a transaction") {
    const auto p = policy(1min);
    LeakTally tally;
    const LabelPair a{"app", "u"};
    add(tally, a, idle_session(10s, true), p);  // in a transaction, not yet a suspect
    add(tally, a, idle_session(2min, false), p);  // a suspect, no transaction
    SessionIdleState busy = idle_session(1h, true);
    busy.idle = false;  // a long-running statement inside a transaction: not idle
    add(tally, a, busy, p);
    const auto& s = tally.pairs().at(a);
    CHECK(s.open == 3);
    CHECK(s.suspects == 1);
    CHECK(s.idle_in_transaction == 0);

    add(tally, a, idle_session(2min, true), p);
    CHECK(tally.pairs().at(a).idle_in_transaction == 1);
    CHECK(tally.pairs().at(a).suspects == 2);
}

TEST_CASE("LeakTally: max_idle_seconds is the longest idle time of the pair's idle tracked sessions") {
    const auto p = policy(1min);
    LeakTally tally;
    const LabelPair a{"app", "u"};
    add(tally, a, idle_session(1500ms), p);
    CHECK(tally.pairs().at(a).max_idle_seconds == doctest::Approx(1.5));
    add(tally, a, idle_session(90s), p);
    CHECK(tally.pairs().at(a).max_idle_seconds == doctest::Approx(90.0));
    add(tally, a, idle_session(30s), p);
    CHECK(tally.pairs().at(a).max_idle_seconds == doctest::Approx(90.0));

    // A busy session or one it does not track does not count, however long ago its last activity.
    SessionIdleState busy = idle_session(2h);
    busy.idle = false;
    add(tally, a, busy, p);
    SessionIdleState untracked = idle_session(3h);
    untracked.tracked = false;
    add(tally, a, untracked, p);
    CHECK(tally.pairs().at(a).max_idle_seconds == doctest::Approx(90.0));
    CHECK(tally.pairs().at(a).open == 5);
    CHECK(tally.pairs().at(a).suspects == 1);
}

TEST_CASE("LeakTally: a pair with only busy or untracked sessions is open with max_idle_seconds 0") {
    const auto p = policy(1min);
    LeakTally tally;
    const LabelPair a{"app", "u"};
    SessionIdleState busy = idle_session(2h);
    busy.idle = false;
    add(tally, a, busy, p);
    SessionIdleState untracked = idle_session(2h);
    untracked.tracked = false;
    add(tally, a, untracked, p);
    const auto& s = tally.pairs().at(a);
    CHECK(s.open == 2);
    CHECK(s.suspects == 0);
    CHECK(s.idle_in_transaction == 0);
    CHECK(s.max_idle_seconds == 0.0);
    CHECK(tally.suspects() == 0);
}

TEST_CASE("LeakTally keeps pairs apart by client and by user") {
    const auto p = policy(1min);
    LeakTally tally;
    add(tally, {"app", "u"}, idle_session(2min), p);
    add(tally, {"app", "w"}, idle_session(10s), p);
    add(tally, {"other", "u"}, idle_session(10s), p);
    CHECK(tally.pairs().size() == 3);
    CHECK(tally.pairs().at({"app", "u"}).suspects == 1);
    CHECK(tally.pairs().at({"app", "w"}).suspects == 0);
    CHECK(tally.pairs().at({"other", "u"}).suspects == 0);
    CHECK(tally.suspects() == 1);
}

TEST_CASE("LeakTally::add counts the judgement it is given") {
    LeakTally tally;
    IdleJudgement suspect;
    suspect.suspect = true;
    tally.add({"a", "u"}, idle_session(0ms, true), suspect);
    CHECK(tally.suspects() == 1);
    CHECK(tally.pairs().at({"a", "u"}).suspects == 1);
    CHECK(tally.pairs().at({"a", "u"}).idle_in_transaction == 1);
}

TEST_CASE("LeakReporter: rows sorted by open sessions, most first, ties by client then user") {
    LeakTally tally;
    add_open(tally, {"small", "u"}, 1);
    add_open(tally, {"big", "u"}, 5);
    add_open(tally, {"mid", "z"}, 3);
    add_open(tally, {"mid", "a"}, 3);
    add_open(tally, {"alpha", "u"}, 3);
    LeakReporter reporter;
    const auto rows = reporter.report(tally);
    REQUIRE(rows.size() == 5);
    CHECK(rows[0].labels == LabelPair{"big", "u"});
    CHECK(rows[0].stats.open == 5);
    CHECK(rows[1].labels == LabelPair{"alpha", "u"});
    CHECK(rows[2].labels == LabelPair{"mid", "a"});
    CHECK(rows[3].labels == LabelPair{"mid", "z"});
    CHECK(rows[4].labels == LabelPair{"small", "u"});
    CHECK(rows[4].stats.open == 1);
}

TEST_CASE("LeakReporter: the rows carry the pair's figures") {
    const auto p = policy(1min);
    LeakTally tally;
    add(tally, {"a", "u"}, idle_session(2min, true), p);
    add(tally, {"a", "u"}, idle_session(5s), p);
    LeakReporter reporter;
    const auto rows = reporter.report(tally);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].stats.open == 2);
    CHECK(rows[0].stats.suspects == 1);
    CHECK(rows[0].stats.idle_in_transaction == 1);
    CHECK(rows[0].stats.max_idle_seconds == doctest::Approx(120.0));
}

TEST_CASE("LeakReporter keeps only the top N") {
    LeakTally tally;
    for (std::size_t i = 1; i <= 15; ++i) add_open(tally, {"c" + std::to_string(100 + i), "u"}, i);
    LeakReporter reporter;
    auto rows = reporter.report(tally);  // default top 10
    REQUIRE(rows.size() == 10);
    CHECK(rows.front().labels.first == "c115");
    CHECK(rows.front().stats.open == 15);
    CHECK(rows.back().labels.first == "c106");
    CHECK(rows.back().stats.open == 6);

    LeakReporter top3;
    rows = top3.report(tally, 3);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].labels.first == "c115");
    CHECK(rows[1].labels.first == "c114");
    CHECK(rows[2].labels.first == "c113");

    LeakReporter top0;
    CHECK(top0.report(tally, 0).empty());

    LeakReporter all;
    CHECK(all.report(tally, 100).size() == 15);
}

TEST_CASE("LeakReporter: an empty tally gives an empty report") {
    LeakReporter reporter;
    CHECK(reporter.report(LeakTally{}).empty());
}

TEST_CASE("LeakReporter: the first report's growth is the open count") {
    LeakTally tally;
    add_open(tally, {"a", "u"}, 4);
    add_open(tally, {"b", "u"}, 1);
    LeakReporter reporter;
    const auto rows = reporter.report(tally);
    REQUIRE(rows.size() == 2);
    CHECK(row_of(rows, {"a", "u"})->growth == 4);
    CHECK(row_of(rows, {"b", "u"})->growth == 1);
}

TEST_CASE("LeakReporter: growth is relative to the previous report, negative when a pair shrank") {
    LeakReporter reporter;
    {
        LeakTally first;
        add_open(first, {"leaky", "u"}, 3);
        add_open(first, {"shrinking", "u"}, 5);
        add_open(first, {"steady", "u"}, 2);
        reporter.report(first);
    }
    LeakTally second;
    add_open(second, {"leaky", "u"}, 10);
    add_open(second, {"shrinking", "u"}, 1);
    add_open(second, {"steady", "u"}, 2);
    add_open(second, {"newcomer", "u"}, 4);
    const auto rows = reporter.report(second);
    REQUIRE(rows.size() == 4);
    REQUIRE(row_of(rows, {"leaky", "u"}) != nullptr);
    CHECK(row_of(rows, {"leaky", "u"})->growth == 7);
    CHECK(row_of(rows, {"shrinking", "u"})->growth == -4);
    CHECK(row_of(rows, {"steady", "u"})->growth == 0);
    CHECK(row_of(rows, {"newcomer", "u"})->growth == 4);

    // The next report compares against the second, not the first.
    LeakTally third;
    add_open(third, {"leaky", "u"}, 12);
    add_open(third, {"newcomer", "u"}, 4);
    const auto rows3 = reporter.report(third);
    REQUIRE(rows3.size() == 2);
    CHECK(row_of(rows3, {"leaky", "u"})->growth == 2);
    CHECK(row_of(rows3, {"newcomer", "u"})->growth == 0);
}

TEST_CASE("LeakReporter: a pair that vanished and came back grows from 0") {
    LeakReporter reporter;
    LeakTally first;
    add_open(first, {"a", "u"}, 3);
    reporter.report(first);
    LeakTally second;
    add_open(second, {"b", "u"}, 1);
    reporter.report(second);
    LeakTally third;
    add_open(third, {"a", "u"}, 2);
    const auto rows = reporter.report(third);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].growth == 2);
}

TEST_CASE("LeakReporter remembers pairs cut from the top N, so their growth stays right") {
    LeakReporter reporter;
    LeakTally first;
    add_open(first, {"big", "u"}, 10);
    add_open(first, {"small", "u"}, 2);
    CHECK(reporter.report(first, 1).size() == 1);  // "small" not shown
    LeakTally second;
    add_open(second, {"big", "u"}, 1);
    add_open(second, {"small", "u"}, 5);
    const auto rows = reporter.report(second, 1);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].labels == LabelPair{"small", "u"});
    CHECK(rows[0].growth == 3);
}

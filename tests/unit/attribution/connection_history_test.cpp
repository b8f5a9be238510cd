// ConnectionHistory: the status page's ring stays within its capacity and its top clients.
#include <doctest/doctest.h>

#include <string>

#include "tether/attribution/connection_history.hpp"

using tether::attribution::ConnectionHistory;
using Clock = tether::session::Clock;
using namespace std::chrono_literals;

namespace {

std::vector<std::pair<std::string, std::uint64_t>> clients(std::size_t n, std::uint64_t base = 1) {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    for (std::size_t i = 0; i < n; ++i) out.emplace_back("client-" + std::to_string(i), base + i);
    return out;
}

}  // namespace

TEST_CASE("capacity is an hour of samples at the interval") {
    CHECK(ConnectionHistory(10s).capacity() == 360);
    CHECK(ConnectionHistory(1s).capacity() == 3600);
    CHECK(ConnectionHistory(1500ms).capacity() == 2400);
    CHECK(ConnectionHistory(1h).capacity() == 1);
}

TEST_CASE("a sample is due at once, then every interval") {
    ConnectionHistory h(10s);
    const Clock::time_point t0{100s};
    CHECK(h.due(t0));
    h.record(t0, 1000, {});
    CHECK_FALSE(h.due(t0 + 9999ms));
    CHECK(h.due(t0 + 10s));
}

TEST_CASE("a full ring replaces its oldest sample and keeps the order oldest first") {
    ConnectionHistory h(1h);  // capacity 1
    h.record(Clock::time_point{1s}, 1, {{"a", 1}});
    h.record(Clock::time_point{2s}, 2, {{"b", 2}});
    REQUIRE(h.size() == 1);
    CHECK(h.at(0).unix_seconds == 2);

    ConnectionHistory ring(1s);
    for (std::int64_t i = 0; i < 3600 + 25; ++i) ring.record(Clock::time_point{std::chrono::seconds(i)}, i, {{"a", 1}});
    REQUIRE(ring.size() == 3600);
    CHECK(ring.at(0).unix_seconds == 25);
    CHECK(ring.at(3599).unix_seconds == 3624);
    for (std::size_t i = 1; i < ring.size(); ++i) CHECK(ring.at(i).unix_seconds == ring.at(i - 1).unix_seconds + 1);
}

TEST_CASE("a sample keeps the ten busiest clients; the rest count only in the total") {
    ConnectionHistory h(1s);
    h.record(Clock::time_point{1s}, 1, clients(500));  // counts 1..500
    const auto& s = h.at(0);
    CHECK(s.total == 500 * 501 / 2);
    REQUIRE(s.clients.size() == ConnectionHistory::top_clients);
    CHECK(s.clients.front() == std::pair<std::string, std::uint64_t>{"client-499", 500});
    CHECK(s.clients.back() == std::pair<std::string, std::uint64_t>{"client-490", 491});
    CHECK(s.clients.capacity() <= ConnectionHistory::top_clients);
}

TEST_CASE("ties are broken by label, and clients with nothing open are left out") {
    ConnectionHistory h(1s);
    h.record(Clock::time_point{1s}, 1, {{"zeta", 2}, {"alpha", 2}, {"idle", 0}, {"mid", 3}});
    const auto& s = h.at(0);
    REQUIRE(s.clients.size() == 3);
    CHECK(s.clients[0].first == "mid");
    CHECK(s.clients[1].first == "alpha");
    CHECK(s.clients[2].first == "zeta");
    CHECK(s.total == 7);
}

TEST_CASE("an hour of the worst input stays at capacity x top clients entries") {
    ConnectionHistory h(1s);
    std::size_t entries = 0;
    for (std::int64_t i = 0; i < 2 * 3600; ++i) h.record(Clock::time_point{std::chrono::seconds(i)}, i, clients(200, 7));
    for (std::size_t i = 0; i < h.size(); ++i) entries += h.at(i).clients.size();
    CHECK(h.size() == h.capacity());
    CHECK(entries == h.capacity() * ConnectionHistory::top_clients);
}

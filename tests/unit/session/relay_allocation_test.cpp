// The command-phase relay allocates nothing: a query and its result set, fed to the Session as io feeds it.
#include <doctest/doctest.h>

#include "../support/allocation_count.hpp"
#include "session_test_support.hpp"

namespace tether::session::test {

TEST_CASE("relay: a query and its result set in the command phase allocate nothing and raise no event") {
    Driver d;
    log_in(d);
    const ByteVec query = com_query("SELECT c FROM sbtest1 WHERE id=1");
    const ByteVec response =
        Stream(1).text_result({"c"}, {{"83868641912-28773972837-60736120486-75162659906"}}, false, codec::status::autocommit).bytes();
    Session& s = d.session();
    auto round_trip = [&](Clock::time_point now) {
        // As io does: a fresh Actions per read.
        Actions from_client;
        s.on_client_bytes(query, now, from_client);
        CHECK(from_client.forward);
        CHECK(from_client.events.empty());
        Actions from_upstream;
        s.on_upstream_bytes(response, now, from_upstream);
        CHECK(from_upstream.forward);
        CHECK(from_upstream.events.empty());
    };
    round_trip(d.now());  // the tracker's queue takes its first capacity here
    // Split the response across reads too: the scanner keeps a straddling header inline.
    const std::size_t before = tether::test::allocations();
    for (int i = 0; i < 100; ++i) {
        round_trip(d.now());
        Actions a;
        s.on_client_bytes(query, d.now(), a);
        const codec::Bytes r(response);
        for (std::size_t at = 0; at < r.size(); at += 3) {
            Actions b;
            s.on_upstream_bytes(r.subspan(at, std::min<std::size_t>(3, r.size() - at)), d.now(), b);
        }
    }
    const std::size_t made = tether::test::allocations() - before;
    CHECK(made == 0);
    CHECK(s.phase() == Phase::command);
    CHECK_FALSE(s.command_in_flight());
}

}  // namespace tether::session::test

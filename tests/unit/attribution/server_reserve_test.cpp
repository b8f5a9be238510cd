// ServerReserve: the server's free slots less tether's own admissions since the last read, against --server-reserve.
#include <doctest/doctest.h>

#include "tether/attribution/server_reserve.hpp"

using tether::attribution::Limit;
using tether::attribution::ServerReserve;

TEST_CASE("off: nothing is refused") {
    ServerReserve r(0);
    r.on_server_state(100, 100);
    CHECK(r.decide(false).allowed);
}

TEST_CASE("no reading yet (or the monitor lost the server): nothing is refused") {
    ServerReserve r(10);
    CHECK(r.decide(false).allowed);
    r.on_server_state(95, 100);
    CHECK_FALSE(r.decide(false).allowed);
    r.forget();
    CHECK(r.decide(false).allowed);
    CHECK_FALSE(r.free_slots());
}

TEST_CASE("refused with 1040 at or below the reserve, the message naming both numbers") {
    ServerReserve r(5);
    r.on_server_state(94, 100);  // 6 free
    CHECK(r.decide(false).allowed);
    r.on_server_state(95, 100);  // 5 free: at the reserve
    const auto v = r.decide(false);
    CHECK_FALSE(v.allowed);
    CHECK(v.limit == Limit::server);
    CHECK(v.error_code == 1040);
    CHECK(v.sql_state == "08004");
    CHECK(v.message == "tether: the server has only 5 free connections, tether keeps 5 for admin users (--server-reserve)");
}

TEST_CASE("admin users are never refused") {
    ServerReserve r(5);
    r.on_server_state(100, 100);
    CHECK(r.decide(true).allowed);
}

TEST_CASE("a burst between two reads counts its own admissions, and a new read starts over") {
    ServerReserve r(5);
    r.on_server_state(90, 100);  // 10 free
    int admitted = 0;
    while (r.decide(false).allowed) {
        r.admitted();
        ++admitted;
        REQUIRE(admitted < 100);
    }
    CHECK(admitted == 5);  // 10 free, 5 kept
    CHECK(*r.free_slots() == 5);
    r.on_server_state(92, 100);  // some of the burst's sessions ended meanwhile
    CHECK(*r.free_slots() == 8);
    CHECK(r.decide(false).allowed);
}

TEST_CASE("a server over its own limit shows 0 free, not a negative number") {
    ServerReserve r(3);
    r.on_server_state(110, 100);
    CHECK(r.decide(false).message.find("only 0 free") != std::string::npos);
}

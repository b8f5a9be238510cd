// HandshakeGate: the total and per-address caps on open handshakes, and the map's bound.
#include <doctest/doctest.h>

#include <string>

#include "tether/attribution/handshake_gate.hpp"

using tether::attribution::HandshakeGate;
using tether::attribution::KeyCounts;
using tether::attribution::Limit;

TEST_CASE("the total cap refuses with 1040 once that many handshakes are open") {
    HandshakeGate gate({2, 0});
    gate.enter("10.0.0.1");
    gate.enter("10.0.0.2");
    auto v = gate.decide("10.0.0.3");
    CHECK_FALSE(v.allowed);
    CHECK(v.limit == Limit::handshakes);
    CHECK(v.error_code == 1040);
    CHECK(v.sql_state == "08004");
    CHECK(v.message.find("--max-handshakes 2") != std::string::npos);
    gate.leave("10.0.0.1");
    CHECK(gate.decide("10.0.0.3").allowed);
}

TEST_CASE("the per-address cap refuses only that address, and names it") {
    HandshakeGate gate({0, 2});
    gate.enter("10.0.0.1");
    gate.enter("10.0.0.1");
    auto v = gate.decide("10.0.0.1");
    CHECK_FALSE(v.allowed);
    CHECK(v.limit == Limit::handshakes_per_address);
    CHECK(v.message.find("from 10.0.0.1: --max-handshakes-per-address 2") != std::string::npos);
    CHECK(gate.decide("10.0.0.2").allowed);
    // no address (a unix socket): only the total applies
    CHECK(gate.decide("").allowed);
}

TEST_CASE("an address stops counting when its last handshake ends") {
    HandshakeGate gate({0, 0});
    for (int i = 0; i < 1000; ++i) gate.enter("10.0.0." + std::to_string(i));
    CHECK(gate.addresses() == 1000);
    CHECK(gate.open() == 1000);
    for (int i = 0; i < 1000; ++i) gate.leave("10.0.0." + std::to_string(i));
    CHECK(gate.addresses() == 0);
    CHECK(gate.address_entries() <= KeyCounts::spare_entries + 1);  // swept as they left
    CHECK(gate.open() == 0);
    gate.enter("");
    CHECK(gate.open() == 1);
    CHECK(gate.addresses() == 0);
    gate.leave("");
    gate.leave("never-entered");  // a stray leave does not underflow
    CHECK(gate.open() == 0);
}

TEST_CASE("0 turns either cap off") {
    HandshakeGate gate({0, 0});
    for (int i = 0; i < 100; ++i) gate.enter("10.0.0.1");
    CHECK(gate.decide("10.0.0.1").allowed);
}

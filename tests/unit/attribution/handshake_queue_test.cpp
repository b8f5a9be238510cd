// HandshakeQueue: FIFO order, per-address fairness under the gate, expiry, the bound and its eviction rule.
#include <doctest/doctest.h>

#include <string>

#include "tether/attribution/handshake_queue.hpp"

using tether::attribution::HandshakeGate;
using tether::attribution::HandshakeQueue;

namespace {

const HandshakeQueue::Clock::time_point t0{};

HandshakeQueue::Clock::time_point at(int ms) { return t0 + std::chrono::milliseconds(ms); }

}  // namespace

TEST_CASE("waiters go oldest first, one per free slot, and none while the gate is full") {
    HandshakeGate gate({1, 0});
    HandshakeQueue q(8);
    gate.enter("a");
    CHECK(q.join(1, "a", at(0)).queued);
    CHECK(q.join(2, "b", at(1)).queued);
    CHECK(q.join(3, "a", at(2)).queued);
    CHECK_FALSE(q.take_admissible(gate));
    gate.leave("a");
    auto w = q.take_admissible(gate);
    REQUIRE(w);
    CHECK(w->id == 1);
    CHECK(w->address == "a");
    gate.enter(w->address);
    CHECK_FALSE(q.take_admissible(gate));
    gate.leave("a");
    CHECK(q.take_admissible(gate)->id == 2);
    CHECK(q.size() == 1);
}

TEST_CASE("with a per-address cap the slot goes to the oldest waiter whose address is under it") {
    HandshakeGate gate({4, 1});
    HandshakeQueue q(8);
    gate.enter("flood");
    CHECK(q.join(1, "flood", at(0)).queued);
    CHECK(q.join(2, "flood", at(1)).queued);
    CHECK(q.join(3, "app", at(2)).queued);
    auto w = q.take_admissible(gate);
    REQUIRE(w);
    CHECK(w->id == 3);  // "flood" is at its cap, "app" is not
    gate.enter(w->address);
    CHECK_FALSE(q.take_admissible(gate));
    gate.leave("flood");
    CHECK(q.take_admissible(gate)->id == 1);
    CHECK(q.of_address("flood") == 1);
    CHECK(q.addresses() == 1);
}

TEST_CASE("a waiter that leaves is gone at once, wherever it stands") {
    HandshakeGate gate({1, 0});
    HandshakeQueue q(8);
    gate.enter("x");
    q.join(1, "a", at(0));
    q.join(2, "b", at(1));
    q.join(3, "a", at(2));
    CHECK(q.remove(2));
    CHECK_FALSE(q.remove(2));
    CHECK_FALSE(q.contains(2));
    CHECK(q.of_address("b") == 0);
    CHECK(q.addresses() == 1);
    CHECK(q.remove(1));
    gate.leave("x");
    CHECK(q.take_admissible(gate)->id == 3);
    CHECK(q.size() == 0);
    CHECK(q.addresses() == 0);
}

TEST_CASE("expiry takes the waiters accepted before the cutoff, oldest first, and stops at the first younger") {
    HandshakeQueue q(8);
    q.join(1, "a", at(0));
    q.join(2, "a", at(100));
    q.join(3, "a", at(200));
    CHECK(q.take_expired(at(150))->id == 1);
    CHECK(q.take_expired(at(150))->id == 2);
    CHECK_FALSE(q.take_expired(at(150)));
    CHECK_FALSE(q.take_expired(at(200)));  // exactly the budget is not over it
    CHECK(q.size() == 1);
}

TEST_CASE("capacity 0 queues nobody: refusal at once") {
    HandshakeQueue q(0);
    auto r = q.join(1, "a", at(0));
    CHECK_FALSE(r.queued);
    CHECK_FALSE(r.evicted);
    CHECK(q.size() == 0);
}

TEST_CASE("a full queue refuses a newcomer from the address that fills it") {
    HandshakeQueue q(3);
    for (std::uint64_t id = 1; id <= 3; ++id) CHECK(q.join(id, "flood", at(0)).queued);
    auto r = q.join(4, "flood", at(1));
    CHECK_FALSE(r.queued);
    CHECK_FALSE(r.evicted);
    CHECK(q.size() == 3);
    CHECK_FALSE(q.contains(4));
}

TEST_CASE("a full queue makes room for another address by pushing out the flood's newest waiter") {
    HandshakeQueue q(3);
    q.join(1, "flood", at(0));
    q.join(2, "flood", at(1));
    q.join(3, "flood", at(2));
    auto r = q.join(4, "app", at(3));
    CHECK(r.queued);
    REQUIRE(r.evicted);
    CHECK(r.evicted->id == 3);
    CHECK(r.evicted->address == "flood");
    CHECK(q.size() == 3);
    CHECK(q.of_address("flood") == 2);
    CHECK(q.of_address("app") == 1);
    // balanced within one: nobody is pushed out any more
    auto again = q.join(5, "app", at(4));
    CHECK_FALSE(again.queued);
    CHECK_FALSE(again.evicted);
    // the pushed-out slot was the newest: the oldest still go first
    HandshakeGate gate({1, 0});
    CHECK(q.take_admissible(gate)->id == 1);
}

TEST_CASE("unix-socket waiters (no address) share one line and are never pushed out by each other") {
    HandshakeQueue q(2);
    CHECK(q.join(1, "", at(0)).queued);
    CHECK(q.join(2, "", at(0)).queued);
    auto r = q.join(3, "", at(0));
    CHECK_FALSE(r.queued);
    CHECK_FALSE(r.evicted);
}

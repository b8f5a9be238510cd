// GrowableRing: FIFO order across wrap-around and growth, the hard bound, moves.
#include <doctest/doctest.h>

#include <cstdint>

#include "tether/session/growable_ring.hpp"

namespace tether::session::test {

using Ring = GrowableRing<std::uint32_t, 4, 32>;

TEST_CASE("ring: inline until the inline capacity is used, FIFO across wrap-around") {
    Ring r;
    CHECK(r.empty());
    std::uint32_t next_in = 0;
    std::uint32_t next_out = 0;
    // Keep 3 queued while pushing 100: the head wraps many times, always inline.
    for (int i = 0; i < 3; ++i) CHECK(r.push(next_in++));
    for (int i = 0; i < 100; ++i) {
        CHECK(r.push(next_in++));
        CHECK(r.front() == next_out++);
        r.pop();
    }
    CHECK(r.size() == 3);
    CHECK_FALSE(r.on_heap());
    CHECK(r.capacity() == 4);
}

TEST_CASE("ring: grows while wrapped, keeps the order, stops at the bound") {
    Ring r;
    for (std::uint32_t i = 0; i < 3; ++i) CHECK(r.push(i));
    r.pop();
    r.pop();  // head at 2: the next pushes wrap around the inline array
    std::uint32_t expected = 2;
    for (std::uint32_t i = 3; i < 34; ++i) CHECK(r.push(i));  // 32 queued: 2..33
    CHECK(r.on_heap());
    CHECK(r.capacity() == 32);
    CHECK(r.size() == 32);
    CHECK_FALSE(r.push(99));  // the bound: refused, nothing changed
    CHECK(r.size() == 32);
    while (!r.empty()) {
        CHECK(r.front() == expected++);
        r.pop();
    }
    CHECK(expected == 34);
    // The heap ring stays: the next burst reuses it.
    for (std::uint32_t i = 0; i < 32; ++i) CHECK(r.push(i));
    CHECK(r.capacity() == 32);
}

TEST_CASE("ring: a move takes the contents and leaves an empty usable ring") {
    Ring a;
    for (std::uint32_t i = 0; i < 10; ++i) a.push(i);
    Ring b(std::move(a));
    CHECK(b.size() == 10);
    CHECK(b.front() == 0);
    CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    CHECK(a.capacity() == 4);
    CHECK(a.push(7));
    CHECK(a.front() == 7);
    Ring c;
    c.push(1);
    c = std::move(b);
    CHECK(c.size() == 10);
    for (std::uint32_t i = 0; i < 10; ++i, c.pop()) CHECK(c.front() == i);
}

}  // namespace tether::session::test

// KeyCounts: per-key counts whose zero entries are reused, and swept past a bound.
#include "tether/attribution/key_counts.hpp"

#include <string>

#include <doctest/doctest.h>

using tether::attribution::KeyCounts;

TEST_CASE("counts go up and down per key, and a stray remove changes nothing") {
    KeyCounts c;
    c.add("a");
    c.add("a");
    c.add("b");
    CHECK(c.of("a") == 2);
    CHECK(c.of("b") == 1);
    CHECK(c.of("c") == 0);
    CHECK(c.keys() == 2);
    c.remove("a");
    c.remove("b");
    c.remove("b");  // already zero
    c.remove("c");  // never counted
    CHECK(c.of("a") == 1);
    CHECK(c.of("b") == 0);
    CHECK(c.keys() == 1);
    c.remove("a");
    CHECK(c.keys() == 0);
}

TEST_CASE("a key that comes back reuses its entry") {
    KeyCounts c;
    for (int i = 0; i < 10000; ++i) {
        c.add("report-service");
        c.remove("report-service");
    }
    CHECK(c.entries() == 1);
    CHECK(c.keys() == 0);
}

TEST_CASE("keys seen once and gone do not pile up, and live keys survive the sweep") {
    KeyCounts c;
    c.add("live-1");
    c.add("live-2");
    for (int i = 0; i < 100000; ++i) {
        const std::string key = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
        c.add(key);
        c.remove(key);
        REQUIRE(c.entries() <= 2 * c.keys() + KeyCounts::spare_entries + 1);
    }
    CHECK(c.of("live-1") == 1);
    CHECK(c.of("live-2") == 1);
    CHECK(c.keys() == 2);
}

TEST_CASE("many live keys at once are all counted") {
    KeyCounts c;
    for (int i = 0; i < 5000; ++i) c.add("k" + std::to_string(i));
    CHECK(c.keys() == 5000);
    CHECK(c.entries() == 5000);
    for (int i = 0; i < 5000; i += 2) c.remove("k" + std::to_string(i));
    CHECK(c.keys() == 2500);
    for (int i = 0; i < 5000; ++i) CHECK(c.of("k" + std::to_string(i)) == (i % 2 == 0 ? 0U : 1U));
}

TEST_CASE("a crowd of keys that all leave is swept as it leaves") {
    KeyCounts c;
    for (int i = 0; i < 5000; ++i) c.add("k" + std::to_string(i));
    for (int i = 0; i < 5000; ++i) {
        c.remove("k" + std::to_string(i));
        REQUIRE(c.entries() <= 2 * c.keys() + KeyCounts::spare_entries + 1);
    }
    CHECK(c.keys() == 0);
    CHECK(c.entries() <= KeyCounts::spare_entries + 1);
}

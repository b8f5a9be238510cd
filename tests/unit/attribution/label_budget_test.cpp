// LabelBudget: bounded label cardinality with reference counting.
#include <doctest/doctest.h>

#include <string>

#include "tether/attribution/label_budget.hpp"

using tether::attribution::LabelBudget;

TEST_CASE("LabelBudget grants new values up to its capacity") {
    LabelBudget budget(2);
    CHECK(budget.acquire("a") == "a");
    CHECK(budget.acquire("b") == "b");
    CHECK(budget.held() == 2);
    CHECK(budget.references("a") == 1);
    CHECK(budget.references("b") == 1);
    CHECK(budget.references("c") == 0);
}

TEST_CASE("LabelBudget sends values past its capacity to _other") {
    LabelBudget budget(2);
    budget.acquire("a");
    budget.acquire("b");
    CHECK(budget.acquire("c") == "_other");
    CHECK(budget.acquire("d") == "_other");
    CHECK(budget.references("_other") == 2);
    CHECK(budget.references("c") == 0);
    CHECK(budget.references("d") == 0);
}

TEST_CASE("LabelBudget always grants a value it already holds") {
    LabelBudget budget(1);
    CHECK(budget.acquire("a") == "a");
    CHECK(budget.acquire("b") == "_other");
    CHECK(budget.acquire("a") == "a");
    CHECK(budget.acquire("a") == "a");
    CHECK(budget.references("a") == 3);
}

TEST_CASE("LabelBudget grants _other itself even when full") {
    LabelBudget budget(1);
    budget.acquire("a");
    CHECK(budget.acquire("_other") == "_other");
    CHECK(budget.references("_other") == 1);
}

TEST_CASE("LabelBudget frees a slot when the last reference is released") {
    LabelBudget budget(2);
    budget.acquire("a");
    budget.acquire("a");
    budget.acquire("b");

    budget.release("a");
    CHECK(budget.references("a") == 1);
    CHECK(budget.peek("c") == "_other");  // "a" still has a reference

    budget.release("a");
    CHECK(budget.references("a") == 0);
    CHECK(budget.held() == 1);
    CHECK(budget.acquire("c") == "c");
}

TEST_CASE("LabelBudget frees a slot for a real value even while _other is held") {
    // "_other" is the one value allowed beyond the capacity, so it must not take
    // the slot a released value frees.
    LabelBudget budget(2);
    budget.acquire("a");
    budget.acquire("b");
    REQUIRE(budget.acquire("c") == "_other");

    budget.release("a");
    CHECK(budget.peek("d") == "d");
    CHECK(budget.acquire("d") == "d");
}

TEST_CASE("LabelBudget ignores releases of values it does not hold") {
    LabelBudget budget(1);
    budget.acquire("a");
    budget.release("zzz");
    budget.release("_other");
    CHECK(budget.held() == 1);
    CHECK(budget.references("a") == 1);
    budget.release("a");
    budget.release("a");  // one too many: no underflow
    CHECK(budget.held() == 0);
    CHECK(budget.acquire("b") == "b");
    CHECK(budget.references("b") == 1);
}

TEST_CASE("LabelBudget::peek answers like acquire without taking a reference") {
    LabelBudget budget(1);
    CHECK(budget.peek("a") == "a");
    CHECK(budget.held() == 0);
    CHECK(budget.references("a") == 0);

    budget.acquire("a");
    CHECK(budget.peek("a") == "a");
    CHECK(budget.peek("b") == "_other");
    CHECK(budget.references("a") == 1);
    CHECK(budget.references("_other") == 0);
    CHECK(budget.held() == 1);
}

TEST_CASE("LabelBudget with capacity 0 sends everything to _other") {
    LabelBudget budget(0);
    CHECK(budget.acquire("a") == "_other");
    CHECK(budget.references("a") == 0);
}

// Heap allocations counted through the replaceable global operator new, for
// tests of what a hot path costs. Linking allocation_count.cpp into a test
// binary replaces every plain (not over-aligned) form of new and delete in it,
// so such a binary is one the sanitizer build does not need to pair itself.
#pragma once

#include <cstddef>

namespace tether::test {

// Allocations made by this thread so far; a test compares two readings.
std::size_t allocations();

}  // namespace tether::test

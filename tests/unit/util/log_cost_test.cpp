// Logging: a line below the level must cost next to nothing. Session events log on every
// connection (session_opened, session_closed, ten fields each); at --log-level warn those lines
// are not written, and building their fields must not copy the strings they name. This binary
// counts every operator new.
#include <doctest/doctest.h>

#include "../support/allocation_count.hpp"

#include <string>

#include "tether/util/log.hpp"

using tether::test::allocations;

namespace log = tether::log;

TEST_CASE("A line below the level copies none of its field values") {
    // Longer than any short-string buffer: a copy would allocate.
    const std::string client = "billing-api-with-a-long-program-name";
    const std::string database = "a_database_name_longer_than_sixteen_bytes";
    log::configure(log::Level::warn, log::Format::text);
    const auto before = allocations();
    log::info("session_opened", {{"client", client}, {"database", database}, {"peer", "127.0.0.1"}});
    log::debug("accepted", {{"client", client}});
    const auto after = allocations();
    log::configure(log::Level::info, log::Format::text);  // the default, for the other tests
    CHECK(after - before == 0);
}

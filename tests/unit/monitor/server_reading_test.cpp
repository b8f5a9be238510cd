// The status rows as numbers, and what is refused.
#include <doctest/doctest.h>

#include "tether/monitor/server_reading.hpp"

namespace tether::monitor {

TEST_CASE("SHOW GLOBAL STATUS rows in any order and case") {
    ServerReading reading;
    std::string error;
    CHECK(read_global_status({{"THREADS_CONNECTED", "12"}, {"Aborted_connects", "3"}, {"aborted_clients", "18446744073709551615"}},
                             reading, error));
    CHECK(reading.threads_connected == 12);
    CHECK(reading.aborted_connects == 3);
    CHECK(reading.aborted_clients == 18446744073709551615ull);
}

TEST_CASE("a missing variable, a value that is not a number: an error, not a zero") {
    ServerReading reading;
    std::string error;
    CHECK_FALSE(read_global_status({{"Threads_connected", "12"}, {"Aborted_connects", "3"}}, reading, error));
    CHECK(error.find("Aborted_clients") != std::string::npos);
    for (const char* bad : {"", "-1", "12x", " 12", "1e3", "99999999999999999999"}) {
        CAPTURE(bad);
        CHECK_FALSE(read_global_status({{"Threads_connected", bad}, {"Aborted_connects", "3"}, {"Aborted_clients", "1"}},
                                       reading, error));
    }
    CHECK_FALSE(read_global_status({{"Threads_connected", std::nullopt}, {"Aborted_connects", "3"}, {"Aborted_clients", "1"}},
                                   reading, error));
}

TEST_CASE("the limits row") {
    ServerReading reading;
    std::string error;
    CHECK(read_connection_limits({{"151", "0"}}, reading, error));
    CHECK(reading.max_connections == 151);
    CHECK(reading.max_user_connections == 0);
    CHECK_FALSE(read_connection_limits({}, reading, error));
    CHECK_FALSE(read_connection_limits({{"151"}}, reading, error));
    CHECK_FALSE(read_connection_limits({{"151", std::nullopt}}, reading, error));
}

}  // namespace tether::monitor

// Every setting of tether, read from flags and TETHER_* environment variables.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <variant>

#include "tether/config/address.hpp"

namespace tether::config {

struct Config {
    Address listen;
    Address upstream;
    Address admin;
    std::chrono::milliseconds handshake_timeout{5'000};
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds readiness_interval{10'000};
    std::chrono::milliseconds series_linger{15 * 60'000};
    std::string client_label = "attr:program_name,addr";
    std::size_t max_client_labels = 100;
    std::string reserved_user = "tether_abort_login";
    std::string log_format = "text";
    std::string log_level = "info";
};

// Either a Config to run with, or an exit status: 0 after --help/--version,
// 2 after a one-line error naming the flag (already printed to stderr).
std::variant<Config, int> parse_command_line(int argc, char** argv);

}  // namespace tether::config

// Runs parse_command_line as the binary would and keeps what it returned and printed.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "tether/config/config.hpp"

namespace tether::config::test {

// Clears every TETHER_* variable, so the tests do not depend on the caller's environment.
void clear_tether_env();

// What one parse_command_line call returned and printed.
struct Run {
    std::variant<Config, int> result;
    std::string out;
    std::string err;

    [[nodiscard]] bool ok() const { return std::holds_alternative<Config>(result); }
    [[nodiscard]] const Config& config() const { return std::get<Config>(result); }
    [[nodiscard]] int status() const { return std::holds_alternative<int>(result) ? std::get<int>(result) : -1; }
};

// `args` without the program name.
Run run(std::vector<std::string> args);

bool contains(const std::string& haystack, const std::string& needle);

// Sets a variable for the length of one test.
struct ScopedEnv {
    std::string name;
    ScopedEnv(std::string n, const char* value);
    ~ScopedEnv();
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
};

}  // namespace tether::config::test

// The command-line test harness (see command_line_run.hpp).
#include "command_line_run.hpp"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string_view>

extern char** environ;

namespace tether::config::test {

void clear_tether_env() {
    std::vector<std::string> names;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string_view entry(*e);
        if (entry.starts_with("TETHER_")) names.emplace_back(entry.substr(0, entry.find('=')));
    }
    for (const auto& name : names) unsetenv(name.c_str());
}

Run run(std::vector<std::string> args) {
    args.insert(args.begin(), "tether");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::ostringstream out;
    std::ostringstream err;
    auto* old_out = std::cout.rdbuf(out.rdbuf());
    auto* old_err = std::cerr.rdbuf(err.rdbuf());
    auto result = parse_command_line(static_cast<int>(args.size()), argv.data());
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    return Run{std::move(result), out.str(), err.str()};
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

ScopedEnv::ScopedEnv(std::string n, const char* value) : name(std::move(n)) { setenv(name.c_str(), value, 1); }
ScopedEnv::~ScopedEnv() { unsetenv(name.c_str()); }

}  // namespace tether::config::test

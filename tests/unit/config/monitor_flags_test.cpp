// parse_command_line: the monitor session's flags, TETHER_MONITOR_PASSWORD, and
// the exit status 2 (naming the flag) of every inconsistent combination.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "command_line_run.hpp"
#include "tether/config/config.hpp"

using namespace std::chrono_literals;
using namespace tether::config::test;

namespace {

Run run_with(std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--upstream", "db:3306"});
    return run(std::move(extra));
}

}  // namespace

TEST_CASE("no monitor by default") {
    clear_tether_env();
    const Run r = run_with({});
    REQUIRE(r.ok());
    CHECK_FALSE(r.config().monitor.configured());
    CHECK(r.config().monitor.interval == 1s);
}

TEST_CASE("--monitor-user with a password file, or with TETHER_MONITOR_PASSWORD (never kept in the configuration)") {
    clear_tether_env();
    Run r = run_with({"--monitor-user", "monitor", "--monitor-password-file", "/run/secrets/pw", "--monitor-interval", "500ms"});
    REQUIRE(r.ok());
    CHECK(r.config().monitor.user == "monitor");
    CHECK(r.config().monitor.password_file == "/run/secrets/pw");
    CHECK(r.config().monitor.interval == 500ms);
    CHECK_FALSE(r.config().monitor.password_from_env);
    {
        ScopedEnv password("TETHER_MONITOR_PASSWORD", "s3cret");
        ScopedEnv user("TETHER_MONITOR_USER", "monitor");
        r = run_with({});
        REQUIRE(r.ok());
        CHECK(r.config().monitor.configured());
        CHECK(r.config().monitor.password_from_env);
        CHECK(r.config().monitor.password_file.empty());
    }
}

TEST_CASE("inconsistent monitor flags exit 2 naming the flag") {
    clear_tether_env();
    struct Case {
        std::vector<std::string> args;
        const char* env_password;
        const char* names;
    };
    const std::vector<Case> cases{
        {{"--monitor-user", "monitor"}, nullptr, "--monitor-user"},
        {{"--monitor-password-file", "/pw"}, nullptr, "--monitor-password-file"},
        {{"--monitor-user", "monitor", "--monitor-password-file", "/pw"}, "x", "TETHER_MONITOR_PASSWORD"},
        {{"--monitor-user", "tether_abort_login", "--monitor-password-file", "/pw"}, nullptr, "--monitor-user"},
        {{"--monitor-user", std::string(81, 'm'), "--monitor-password-file", "/pw"}, nullptr, "--monitor-user"},
        {{"--monitor-user", "m", "--monitor-password-file", "/pw", "--monitor-interval", "50ms"}, nullptr, "--monitor-interval"},
        {{"--monitor-user", "m", "--monitor-password-file", "/pw", "--monitor-interval", "2h"}, nullptr, "--monitor-interval"},
        {{"--monitor-user", "m", "--monitor-password-file", "/pw", "--monitor-interval", "soon"}, nullptr, "--monitor-interval"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.names);
        std::optional<ScopedEnv> env;
        if (c.env_password != nullptr) env.emplace("TETHER_MONITOR_PASSWORD", c.env_password);
        const Run r = run_with(c.args);
        CHECK(r.status() == 2);
        CHECK(contains(r.err, c.names));
    }
}

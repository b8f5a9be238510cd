// parse_command_line: the admin server's limits (--admin-idle-timeout, --admin-max-connections).
#include <doctest/doctest.h>

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

TEST_CASE("Admin limits: defaults outlast a 60 s scrape interval and leave room under the fd limit") {
    clear_tether_env();
    const auto r = run_with({});
    REQUIRE_MESSAGE(r.ok(), r.err);
    CHECK(r.config().admin_idle_timeout == 90s);
    CHECK(r.config().admin_max_connections == 64);
}

TEST_CASE("Admin limits: flags and TETHER_* variables") {
    clear_tether_env();
    auto r = run_with({"--admin-idle-timeout", "1500ms", "--admin-max-connections", "3"});
    REQUIRE_MESSAGE(r.ok(), r.err);
    CHECK(r.config().admin_idle_timeout == 1500ms);
    CHECK(r.config().admin_max_connections == 3);
    ScopedEnv idle("TETHER_ADMIN_IDLE_TIMEOUT", "2m");
    ScopedEnv max("TETHER_ADMIN_MAX_CONNECTIONS", "10");
    r = run_with({});
    REQUIRE_MESSAGE(r.ok(), r.err);
    CHECK(r.config().admin_idle_timeout == 2min);
    CHECK(r.config().admin_max_connections == 10);
}

TEST_CASE("Admin limits: bad values exit 2 naming the flag") {
    clear_tether_env();
    for (const auto& bad : std::vector<std::pair<std::string, std::string>>{
             {"--admin-idle-timeout", "0"},
             {"--admin-idle-timeout", "soon"},
             {"--admin-max-connections", "0"},
             {"--admin-max-connections", "-1"},
             {"--admin-max-connections", "10001"},
             {"--admin-max-connections", "08x"}}) {
        const std::string& flag = bad.first;
        const std::string& value = bad.second;
        CAPTURE(flag);
        CAPTURE(value);
        const auto r = run_with({flag, value});
        CHECK(r.status() == 2);
        CHECK(contains(r.err, flag));
    }
}

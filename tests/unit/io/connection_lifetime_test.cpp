// A Connection is deleted only once nothing up the stack uses it: the paths
// where libuv fails synchronously inside Connection::apply(). Meant to run
// under AddressSanitizer (scripts/test does), where a use after free fails.
#include <doctest/doctest.h>
#include <uv.h>

#include <string>
#include <variant>
#include <vector>

#include "tether/config/config.hpp"
#include "tether/io/proxy.hpp"
#include "tether/metrics/metrics.hpp"
#include "tether/util/log.hpp"

namespace {

using tether::config::Config;

Config config_for(std::vector<std::string> args) {
    std::vector<std::string> argv_text = {"tether", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    auto parsed = tether::config::parse_command_line(static_cast<int>(argv.size()), argv.data());
    REQUIRE(std::holds_alternative<Config>(parsed));
    return std::get<Config>(std::move(parsed));
}

// Starts a Proxy (which starts its readiness probe at once), runs the loop a
// little, shuts down, and proves every handle was closed.
std::string not_ready_reason_after_start(const Config& config) {
    tether::log::configure(tether::log::Level::error, tether::log::Format::text);
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    std::string reason;
    {
        tether::metrics::Metrics metrics({config.max_client_labels, std::chrono::seconds(60), "test", {}});
        tether::io::Proxy proxy(&loop, config, metrics);
        bool stopped = false;
        proxy.set_on_stopped([&stopped] { stopped = true; });
        REQUIRE(proxy.start());
        uv_run(&loop, UV_RUN_NOWAIT);
        CHECK_FALSE(proxy.ready());
        reason = proxy.not_ready_reason();
        proxy.shutdown_now();
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(stopped);
    }
    CHECK(uv_loop_close(&loop) == 0);
    return reason;
}

}  // namespace

TEST_CASE("the readiness probe survives uv_getaddrinfo failing synchronously") {
    // libuv rejects a host name that is not valid UTF-8 before it queues the
    // lookup: the probe's Connection fails inside its own start.
    const std::string reason = not_ready_reason_after_start(config_for({"--upstream", "\xff\xfe:3306"}));
    CHECK(reason.find("cannot resolve") != std::string::npos);
}

TEST_CASE("the readiness probe survives a unix-socket upstream that cannot be connected") {
    const std::string reason = not_ready_reason_after_start(config_for({"--upstream", "unix:/nonexistent/tether-test.sock"}));
    CHECK(reason.find("cannot connect") != std::string::npos);
}

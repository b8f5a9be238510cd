// The handshake queue on a real loop: waiters hold only their socket, one
// that closes leaves the queue at once, and shutdown with waiters still queued
// closes every handle. Meant to run under AddressSanitizer.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include <cstdio>
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
    std::vector<std::string> argv_text = {"tether", "--admin", "127.0.0.1:0"};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    auto parsed = tether::config::parse_command_line(static_cast<int>(argv.size()), argv.data());
    REQUIRE(std::holds_alternative<Config>(parsed));
    return std::get<Config>(std::move(parsed));
}

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    return a;
}

int connect_unix(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    const sockaddr_un a = unix_address(path);
    REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
    return fd;
}

// The value of an unlabelled series in the text exposition.
double metric(tether::metrics::Metrics& metrics, const std::string& name) {
    const std::string text = metrics.render();
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 2));
}

void run_a_little(uv_loop_t* loop) {
    for (int i = 0; i < 20; ++i) uv_run(loop, UV_RUN_NOWAIT);
}

}  // namespace

TEST_CASE("waiters for a handshake slot: one that closes leaves at once; shutdown closes the rest") {
    tether::log::configure(tether::log::Level::error, tether::log::Format::text);
    const std::string dir = "/tmp/tether-queue-io-" + std::to_string(::getpid());
    ::mkdir(dir.c_str(), 0700);
    const std::string upstream_path = dir + "/upstream.sock";
    const std::string listen_path = dir + "/listen.sock";
    // An upstream that never accepts nor greets: the kernel completes the
    // connects, so the one admitted session holds its slot awaiting a greeting.
    const int upstream = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ::unlink(upstream_path.c_str());
    const sockaddr_un ua = unix_address(upstream_path);
    REQUIRE(::bind(upstream, reinterpret_cast<const sockaddr*>(&ua), sizeof ua) == 0);
    REQUIRE(::listen(upstream, 16) == 0);

    const Config config = config_for({"--listen", "unix:" + listen_path, "--upstream", "unix:" + upstream_path,
                                      "--max-handshakes", "1", "--handshake-timeout", "1s"});
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    {
        tether::metrics::Metrics metrics({config.max_client_labels, std::chrono::seconds(60), "test", {}});
        tether::io::Proxy proxy(&loop, config, metrics);
        bool stopped = false;
        proxy.set_on_stopped([&stopped] { stopped = true; });
        REQUIRE(proxy.start());
        std::vector<int> clients;
        for (int i = 0; i < 3; ++i) clients.push_back(connect_unix(listen_path));
        run_a_little(&loop);
        CHECK(metric(metrics, "tether_handshake_queue_length") == 2);
        CHECK(metric(metrics, "tether_handshake_queue_waits_total") == 2);
        ::close(clients.back());  // a waiter goes
        clients.pop_back();
        run_a_little(&loop);
        CHECK(metric(metrics, "tether_handshake_queue_length") == 1);
        // One in its handshake, one still waiting; the readiness probe, stuck on the same
        // upstream, ends at its --handshake-timeout (1 s).
        proxy.shutdown_now();
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(stopped);
        CHECK(metric(metrics, "tether_handshake_queue_length") == 0);
        for (int fd : clients) ::close(fd);
    }
    CHECK(uv_loop_close(&loop) == 0);
    ::close(upstream);
    ::unlink(upstream_path.c_str());
    ::unlink(listen_path.c_str());
    ::rmdir(dir.c_str());
}

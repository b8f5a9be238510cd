// tether's entry point: read the configuration, run the proxy on one libuv loop
// until SIGINT or SIGTERM, and exit 0 once every session is closed.
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <optional>
#include <variant>

#include "tether/attribution/client_label.hpp"
#include "tether/config/config.hpp"
#include "tether/io/proxy.hpp"
#include "tether/metrics/metrics.hpp"
#include "tether/util/log.hpp"

namespace {

struct Signals {
    uv_signal_t interrupt{};
    uv_signal_t terminate{};
    uv_signal_t hangup{};
    tether::io::Proxy* proxy = nullptr;

    // SIGHUP: the client leg's certificate and key are read again now.
    static void on_hangup(uv_signal_t* handle, int) {
        auto* self = static_cast<Signals*>(handle->data);
        tether::log::info("signal", {{"signal", "SIGHUP"}, {"action", "reload the TLS certificate"}});
        self->proxy->reload_tls();
    }
    static void on_signal(uv_signal_t* handle, int signum) {
        auto* self = static_cast<Signals*>(handle->data);
        tether::log::info("signal", {{"signal", signum == SIGINT ? "SIGINT" : "SIGTERM"}});
        self->proxy->on_signal();
    }
    void close() {
        for (uv_signal_t* s : {&interrupt, &terminate, &hangup}) {
            if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(s))) uv_close(reinterpret_cast<uv_handle_t*>(s), nullptr);
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    auto parsed = tether::config::parse_command_line(argc, argv);
    if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
    const auto config = std::get<tether::config::Config>(std::move(parsed));

    std::string error;
    if (!tether::attribution::parse_label_rules(config.client_label, error)) {
        std::fprintf(stderr, "tether: --client-label: %s\n", error.c_str());
        return 2;
    }
    tether::log::configure(*tether::log::parse_level(config.log_level), *tether::log::parse_format(config.log_format));
    auto tls = tether::io::TlsSetup::load(config, error);
    if (!tls) {
        std::fprintf(stderr, "tether: %s\n", error.c_str());
        return 2;
    }
    std::optional<tether::monitor::PasswordSource> monitor_password;
    if (config.monitor.configured()) {
        monitor_password = tether::monitor::PasswordSource::from_config(config.monitor, error);
        if (!monitor_password) {
            std::fprintf(stderr, "tether: %s\n", error.c_str());
            return 2;
        }
    }
    // A peer that hangs up mid-write must cost one session, not the process.
    std::signal(SIGPIPE, SIG_IGN);

    uv_loop_t loop;
    uv_loop_init(&loop);
    int exit_code = 0;
    {
        tether::metrics::Metrics metrics({config.max_client_labels,
                                          std::chrono::duration_cast<std::chrono::seconds>(config.series_linger),
                                          TETHER_VERSION,
                                          {{"total", static_cast<double>(config.max_connections)},
                                           {"client", static_cast<double>(config.max_connections_per_client)},
                                           {"user", static_cast<double>(config.max_connections_per_user)},
                                           {"handshakes", static_cast<double>(config.max_handshakes)},
                                           {"handshakes_per_address", static_cast<double>(config.max_handshakes_per_address)}}});
        tether::io::Proxy proxy(&loop, config, metrics);
        proxy.set_tls(std::move(*tls));
        if (monitor_password) proxy.monitor().set_password(std::move(*monitor_password));
        Signals signals;
        signals.proxy = &proxy;
        uv_signal_init(&loop, &signals.interrupt);
        uv_signal_init(&loop, &signals.terminate);
        uv_signal_init(&loop, &signals.hangup);
        signals.interrupt.data = &signals;
        signals.terminate.data = &signals;
        signals.hangup.data = &signals;
        uv_signal_start(&signals.hangup, &Signals::on_hangup, SIGHUP);
        uv_signal_start(&signals.interrupt, &Signals::on_signal, SIGINT);
        uv_signal_start(&signals.terminate, &Signals::on_signal, SIGTERM);
        proxy.set_on_stopped([&signals] { signals.close(); });
        if (!proxy.start()) {
            exit_code = 1;
            proxy.shutdown_now();
        }
        uv_run(&loop, UV_RUN_DEFAULT);
        tether::log::info("stopped", {{"exit_code", std::to_string(exit_code)}});
    }
    if (uv_loop_close(&loop) != 0) {
        tether::log::error("loop_not_clean", {{"detail", "handles still open at exit"}});
        return exit_code == 0 ? 1 : exit_code;
    }
    return exit_code;
}

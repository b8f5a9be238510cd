// A real io::Proxy on the test's loop, configured as the command line would
// (client listener on 127.0.0.1 port 0, admin on port 0), with its metrics.
// If the test ends without stopping it, it is shut down and the loop run
// until it has closed its handles; if even that does not stop it (a test that
// failed early, with servers held mid-handshake), it is left to leak rather
// than freed under callbacks the loop still holds.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "test_loop.hpp"
#include "tether/config/config.hpp"
#include "tether/io/proxy.hpp"
#include "tether/metrics/metrics.hpp"

namespace tether::io::test {

class ProxyUnderTest {
public:
    // `flags` after --listen 127.0.0.1:0 --admin 127.0.0.1:0 (--upstream among them).
    ProxyUnderTest(TestLoop& loop, std::vector<std::string> flags);
    ProxyUnderTest(const ProxyUnderTest&) = delete;
    ProxyUnderTest& operator=(const ProxyUnderTest&) = delete;
    ~ProxyUnderTest();

    Proxy& proxy() { return *proxy_; }
    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] bool stopped() const { return stopped_; }
    [[nodiscard]] const ConnectionCallbackCounts& counts() { return proxy_->connection_callbacks().counts(); }
    // A series' value in the exposition, e.g. `tether_connections_closed_total{reason="admin"}`; 0 when absent.
    double metric(const std::string& series);
    // Sessions listed by /connections in `state` (admin::connection_state's names: idle, query, awaiting_login...).
    std::size_t sessions_in(const std::string& state);
    // Closes everything now and runs the loop until the Proxy has stopped.
    bool shut_down();

private:
    TestLoop& loop_;
    std::unique_ptr<config::Config> config_;  // the Proxy keeps a reference
    std::unique_ptr<metrics::Metrics> metrics_;
    std::unique_ptr<Proxy> proxy_;
    int port_ = 0;
    bool stopped_ = false;
};

}  // namespace tether::io::test

// The Proxy under test (see proxy_under_test.hpp).
#include "proxy_under_test.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <variant>

#include "tether/util/log.hpp"

namespace tether::io::test {

namespace {

config::Config parse(std::vector<std::string> flags) {
    std::vector<std::string> text = {"tether", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"};
    text.insert(text.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& a : text) argv.push_back(a.data());
    auto parsed = config::parse_command_line(static_cast<int>(argv.size()), argv.data());
    REQUIRE(std::holds_alternative<config::Config>(parsed));
    return std::get<config::Config>(std::move(parsed));
}

}  // namespace

ProxyUnderTest::ProxyUnderTest(TestLoop& loop, std::vector<std::string> flags)
    : loop_(loop), config_(std::make_unique<config::Config>(parse(std::move(flags)))) {
    // TETHER_TEST_LOG=debug shows tether's own log lines while a test runs.
    const char* level = std::getenv("TETHER_TEST_LOG");
    log::configure(level != nullptr ? log::parse_level(level).value_or(log::Level::error) : log::Level::error,
                   log::Format::text);
    metrics_ = std::make_unique<metrics::Metrics>(
        metrics::MetricsConfig{config_->max_client_labels, std::chrono::seconds(60), "test", {}});
    proxy_ = std::make_unique<Proxy>(loop_.get(), *config_, *metrics_);
    proxy_->set_on_stopped([this] { stopped_ = true; });
    REQUIRE(proxy_->start());
    port_ = proxy_->listen_port();
    REQUIRE(port_ > 0);
}

ProxyUnderTest::~ProxyUnderTest() {
    if (!stopped_ && !loop_.closed()) shut_down();
    if (!stopped_) {
        (void)proxy_.release();
        (void)metrics_.release();
        (void)config_.release();
    }
}

bool ProxyUnderTest::shut_down() {
    proxy_->shutdown_now();
    return loop_.run_until([this] { return stopped_; });
}

double ProxyUnderTest::metric(const std::string& series) {
    const std::string text = metrics_->render();
    const std::string key = "\n" + series + " ";
    const auto at = text.find(key);
    if (at == std::string::npos) return 0;
    return std::stod(text.substr(at + key.size()));
}

std::size_t ProxyUnderTest::sessions_in(const std::string& state) {
    admin::ConnectionQuery query;
    query.state = state;
    return proxy_->connections(query).total;
}

}  // namespace tether::io::test

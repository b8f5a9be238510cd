// GET /status's JSON and the status page's routes and headers.
#include <doctest/doctest.h>

#include "response_headers.hpp"

#include <nlohmann/json.hpp>

#include "tether/admin/admin_api.hpp"
#include "tether/admin/status.hpp"

using namespace tether::admin;
using tether::attribution::ConnectionHistory;
using Clock = tether::session::Clock;
using namespace std::chrono_literals;

using tether::admin::test::header;

namespace {

constexpr const char* csp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

class StatusProxy : public ProxyView {
public:
    StatusSnapshot snapshot;
    int status_calls = 0;
    std::string metrics_text() override { return {}; }
    bool ready() override { return true; }
    std::string not_ready_reason() override { return {}; }
    ConnectionPage connections(const ConnectionQuery&) override { return {}; }
    StatusSnapshot status() override {
        ++status_calls;
        return snapshot;
    }
    bool close_connection(std::uint64_t) override { return false; }
    void drain() override {}
};

HttpRequest request(std::string target, std::string authorization = {}) {
    HttpRequest r;
    r.method = "GET";
    r.target = std::move(target);
    r.authorization = std::move(authorization);
    return r;
}

}  // namespace

TEST_CASE("status_json has every field, nulls where nothing is known") {
    StatusSnapshot s;
    s.version = "0.1.0";
    s.ready = false;
    s.not_ready_reason = "upstream unreachable";
    s.upstream.address = "db:3306";
    s.sessions = 4;
    s.suspects = 3;
    s.leak_idle_threshold_seconds = 300;
    s.caps = {100, 20, 0};
    s.clients.push_back({"billing", "app", 4, 3, 1, 42.5, 7});
    const auto j = nlohmann::json::parse(status_json(s));
    CHECK(j["version"] == "0.1.0");
    CHECK(j["ready"] == false);
    CHECK(j["not_ready_reason"] == "upstream unreachable");
    CHECK(j["upstream"] == nlohmann::json{{"address", "db:3306"}, {"monitor_up", nullptr},
                                          {"server_threads_connected", nullptr}, {"server_max_connections", nullptr}});
    CHECK(j["sessions"] == 4);
    CHECK(j["suspects"] == 3);
    CHECK(j["leak_idle_threshold_seconds"] == 300);
    CHECK(j["caps"] == nlohmann::json{{"total", 100}, {"client", 20}, {"user", 0}});
    REQUIRE(j["clients"].size() == 1);
    CHECK(j["clients"][0] == nlohmann::json{{"client", "billing"}, {"user", "app"}, {"open", 4}, {"suspects", 3},
                                            {"idle_in_transaction", 1}, {"max_idle_seconds", 42.5}, {"rejected", 7}});
    CHECK(j["history"] == nlohmann::json{{"interval_seconds", 0}, {"samples", nlohmann::json::array()}});

    s.ready = true;
    s.upstream.monitor_up = true;
    s.upstream.server_threads_connected = 17;
    s.upstream.server_max_connections = 151;
    const auto k = nlohmann::json::parse(status_json(s));
    CHECK(k["not_ready_reason"].is_null());
    CHECK(k["upstream"]["monitor_up"] == true);
    CHECK(k["upstream"]["server_threads_connected"] == 17);
    CHECK(k["upstream"]["server_max_connections"] == 151);
}

TEST_CASE("status_json carries the history ring oldest first") {
    ConnectionHistory history(10s);
    history.record(Clock::time_point{10s}, 1700000000, {{"billing", 3}, {"web", 1}});
    history.record(Clock::time_point{20s}, 1700000010, {{"billing", 4}});
    StatusSnapshot s;
    s.history = &history;
    const auto j = nlohmann::json::parse(status_json(s));
    CHECK(j["history"]["interval_seconds"] == 10);
    REQUIRE(j["history"]["samples"].size() == 2);
    CHECK(j["history"]["samples"][0] ==
          nlohmann::json{{"t", 1700000000}, {"total", 4}, {"clients", {{"billing", 3}, {"web", 1}}}});
    CHECK(j["history"]["samples"][1] == nlohmann::json{{"t", 1700000010}, {"total", 4}, {"clients", {{"billing", 4}}}});
}

TEST_CASE("status_json escapes what clients chose: quotes, markup, control bytes, invalid UTF-8") {
    const std::string hostile = "</script><script>alert(\"x\")</script>\\\n\x01\xff";
    ConnectionHistory history(1s);
    history.record(Clock::time_point{1s}, 1, {{hostile, 2}});
    StatusSnapshot s;
    s.clients.push_back({hostile, "u\"ser", 2, 0, 0, 0, 0});
    s.history = &history;
    const std::string text = status_json(s);
    CHECK(text.find('\n') == text.size() - 1);  // only the final newline: the control bytes are escaped
    const auto j = nlohmann::json::parse(text);  // strict: throws on invalid UTF-8 or a bad escape
    CHECK(j["clients"][0]["client"] == "</script><script>alert(\"x\")</script>\\\n\x01\xEF\xBF\xBD");
    CHECK(j["clients"][0]["user"] == "u\"ser");
    CHECK(j["history"]["samples"][0]["clients"].begin().key() == j["clients"][0]["client"]);
}

TEST_CASE("GET / and its script and style are the embedded files, with the page's security headers") {
    StatusProxy proxy;
    const AdminAccess loopback{};
    for (const auto& page :
         {std::tuple{"/", "text/html; charset=utf-8", status_page::index_html},
          std::tuple{"/status.js", "text/javascript; charset=utf-8", status_page::status_js},
          std::tuple{"/status.css", "text/css; charset=utf-8", status_page::status_css}}) {
        const auto& [path, type, body] = page;
        CAPTURE(std::get<0>(page));  // clang 14 cannot name a structured binding in CAPTURE's lambda
        const auto r = handle_admin_request(request(path), proxy, loopback);
        CHECK(r.status == 200);
        CHECK(r.content_type == type);
        CHECK(r.body == body);
        CHECK(!r.body.empty());
        REQUIRE(header(r, "Content-Security-Policy") != nullptr);
        CHECK(*header(r, "Content-Security-Policy") == csp);
        CHECK(*header(r, "X-Content-Type-Options") == "nosniff");
        CHECK(*header(r, "Cache-Control") == "no-store");
        CHECK(*header(r, "Referrer-Policy") == "no-referrer");
    }
    CHECK(status_page::index_html.find("<script src=\"status.js\"") != std::string_view::npos);
    CHECK(status_page::status_js.find("innerHTML") == std::string_view::npos);
}

TEST_CASE("the page is open; /status is guarded like /connections") {
    StatusProxy proxy;
    proxy.snapshot.version = "v";
    AdminAccess remote;
    remote.listener_loopback = false;
    remote.token = "s3cret";
    remote.connections_require_token = true;

    CHECK(handle_admin_request(request("/"), proxy, remote).status == 200);
    CHECK(handle_admin_request(request("/status.js"), proxy, remote).status == 200);
    CHECK(handle_admin_request(request("/status"), proxy, remote).status == 403);
    CHECK(handle_admin_request(request("/status", "Bearer wrong"), proxy, remote).status == 403);
    CHECK(proxy.status_calls == 0);
    const auto r = handle_admin_request(request("/status", "Bearer s3cret"), proxy, remote);
    CHECK(r.status == 200);
    CHECK(r.content_type == "application/json");
    CHECK(nlohmann::json::parse(r.body)["version"] == "v");

    remote.connections_require_token = false;
    CHECK(handle_admin_request(request("/status"), proxy, remote).status == 200);
}

TEST_CASE("GET /status?since=T answers only the history samples taken after T; another query is a 400") {
    ConnectionHistory history(10s);
    for (int i = 0; i < 5; ++i) history.record(Clock::time_point{std::chrono::seconds(10 * i)}, 1000 + 10 * i, {{"a", 1}});
    StatusProxy proxy;
    proxy.snapshot.history = &history;
    const AdminAccess loopback{};
    const auto times = [&](const std::string& target) {
        const auto r = handle_admin_request(request(target), proxy, loopback);
        REQUIRE(r.status == 200);
        std::vector<std::int64_t> out;
        const auto body = nlohmann::json::parse(r.body);  // named: a range-for over a temporary's member dangles
        for (const auto& s : body["history"]["samples"]) out.push_back(s["t"]);
        return out;
    };
    CHECK(times("/status") == std::vector<std::int64_t>{1000, 1010, 1020, 1030, 1040});
    CHECK(times("/status?since=1020") == std::vector<std::int64_t>{1030, 1040});
    CHECK(times("/status?since=1025") == std::vector<std::int64_t>{1030, 1040});
    CHECK(times("/status?since=1040").empty());
    CHECK(times("/status?since=0").size() == 5);
    for (const char* bad : {"/status?since=", "/status?since=-1", "/status?since=12x", "/status?limit=3",
                            "/status?since=99999999999999999999"}) {
        CAPTURE(bad);
        CHECK(handle_admin_request(request(bad), proxy, loopback).status == 400);
    }
}

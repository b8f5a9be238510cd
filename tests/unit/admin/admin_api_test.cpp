// Admin routes over a fake ProxyView, and the response serialization.
#include <doctest/doctest.h>

#include "response_headers.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tether/admin/admin_api.hpp"

using namespace tether::admin;

using tether::admin::test::header;

namespace {

class FakeProxy : public ProxyView {
public:
    std::string metrics = "# TYPE tether_up gauge\ntether_up 1\n";
    bool is_ready = true;
    std::string reason = "upstream refused the readiness login: 1045";
    std::vector<ConnectionInfo> rows;
    int metrics_calls = 0;

    std::string metrics_text() override {
        ++metrics_calls;
        return metrics;
    }
    bool ready() override { return is_ready; }
    std::string not_ready_reason() override { return reason; }
    std::optional<std::size_t> matched;  // what the fake reports as matched; rows.size() if unset
    std::optional<ConnectionQuery> last_query;
    ConnectionPage connections(const ConnectionQuery& query) override {
        last_query = query;
        return {rows, matched.value_or(rows.size())};
    }
    bool close_connection(std::uint64_t id) override {
        closed.push_back(id);
        return id == 7;
    }
    void drain() override { ++drains; }
    StatusSnapshot status() override { return {}; }

    std::vector<std::uint64_t> closed;
    int drains = 0;
};

const AdminAccess loopback{};

HttpRequest request(std::string method, std::string target) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    return r;
}

ConnectionInfo sample_connection() {
    ConnectionInfo c;
    c.id = 42;
    c.client = "billing";
    c.user = "app";
    c.database = "orders";
    c.peer = "10.0.0.7:51234";
    c.upstream_thread_id = 4'000'000'001U;
    c.state = "idle";
    c.age_seconds = 12.5;
    c.idle_seconds = 3.25;
    c.in_transaction = true;
    c.bytes_from_client = 1234;
    c.bytes_from_upstream = 9'876'543'210ULL;
    c.client_tls = "TLSv1.3";
    c.last_statement = "SELECT * FROM invoices WHERE customer_id = ? AND note = \"<\\u0000>\"";
    c.commands = 17;
    c.leak_suspect = true;
    c.attrs = {{"program_name", "billing"}, {"_os", "Linux"}};
    return c;
}

}  // namespace

TEST_CASE("GET /metrics answers 200 with the proxy's exposition and the Prometheus content type") {
    FakeProxy proxy;
    const auto r = handle_admin_request(request("GET", "/metrics"), proxy, loopback);
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(r.body == proxy.metrics);
    CHECK(proxy.metrics_calls == 1);
    CHECK_FALSE(r.close);
}

TEST_CASE("GET /healthz answers 200") {
    FakeProxy proxy;
    proxy.is_ready = false;  // liveness does not depend on readiness
    const auto r = handle_admin_request(request("GET", "/healthz"), proxy, loopback);
    CHECK(r.status == 200);
    CHECK(r.body == "ok\n");
}

TEST_CASE("GET /readyz answers 200 when ready and 503 with the reason when not") {
    FakeProxy proxy;
    auto r = handle_admin_request(request("GET", "/readyz"), proxy, loopback);
    CHECK(r.status == 200);
    CHECK(r.body == "ready\n");

    proxy.is_ready = false;
    r = handle_admin_request(request("GET", "/readyz"), proxy, loopback);
    CHECK(r.status == 503);
    CHECK(r.body == "not ready: upstream refused the readiness login: 1045\n");
}

TEST_CASE("GET /connections answers JSON with every field of every row") {
    FakeProxy proxy;
    proxy.rows.push_back(sample_connection());
    ConnectionInfo second;
    second.id = 43;
    proxy.rows.push_back(second);

    const auto r = handle_admin_request(request("GET", "/connections"), proxy, loopback);
    CHECK(r.status == 200);
    CHECK(r.content_type == "application/json");
    const auto json = nlohmann::json::parse(r.body);
    REQUIRE(json.is_array());
    REQUIRE(json.size() == 2);

    const auto& row = json[0];
    CHECK(row.size() == 18);
    CHECK(row.at("id").get<std::uint64_t>() == 42);
    CHECK(row.at("client").get<std::string>() == "billing");
    CHECK(row.at("user").get<std::string>() == "app");
    CHECK(row.at("database").get<std::string>() == "orders");
    CHECK(row.at("peer").get<std::string>() == "10.0.0.7:51234");
    CHECK(row.at("upstream_thread_id").get<std::uint32_t>() == 4'000'000'001U);
    CHECK(row.at("state").get<std::string>() == "idle");
    CHECK(row.at("age_seconds").get<double>() == doctest::Approx(12.5));
    CHECK(row.at("idle_seconds").get<double>() == doctest::Approx(3.25));
    CHECK(row.at("in_transaction").get<bool>() == true);
    CHECK(row.at("bytes_from_client").get<std::uint64_t>() == 1234);
    CHECK(row.at("bytes_from_upstream").get<std::uint64_t>() == 9'876'543'210ULL);
    CHECK(row.at("client_tls").get<std::string>() == "TLSv1.3");
    CHECK(row.at("upstream_tls").is_null());  // a plaintext leg
    CHECK(row.at("last_statement").get<std::string>() == *sample_connection().last_statement);  // escaped, read back whole
    CHECK(row.at("commands").get<std::uint64_t>() == 17);
    CHECK(row.at("leak_suspect").get<bool>() == true);
    REQUIRE(row.at("attrs").is_object());
    CHECK(row.at("attrs").size() == 2);
    CHECK(row.at("attrs").at("program_name").get<std::string>() == "billing");
    CHECK(row.at("attrs").at("_os").get<std::string>() == "Linux");

    const auto& empty = json[1];
    CHECK(empty.at("id").get<std::uint64_t>() == 43);
    CHECK(empty.at("attrs").is_object());
    CHECK(empty.at("attrs").empty());
    CHECK(empty.at("in_transaction").get<bool>() == false);
    CHECK(empty.at("last_statement").is_null());  // no statement yet, or fingerprints off
    CHECK(empty.at("commands").get<std::uint64_t>() == 0);
    CHECK(empty.at("leak_suspect").get<bool>() == false);
}

TEST_CASE("GET /connections with no sessions is an empty array") {
    FakeProxy proxy;
    const auto r = handle_admin_request(request("GET", "/connections"), proxy, loopback);
    CHECK(r.status == 200);
    CHECK(nlohmann::json::parse(r.body) == nlohmann::json::array());
}

TEST_CASE("connections_json replaces invalid UTF-8 from clients instead of throwing") {
    auto c = sample_connection();
    c.attrs = {{"program_name", "bad\xff\xfe"}, {"\xc3", "key"}};
    c.client = "caf\xc3";
    std::string text;
    REQUIRE_NOTHROW(text = connections_json({c}));
    nlohmann::json json;
    REQUIRE_NOTHROW(json = nlohmann::json::parse(text));
    CHECK(json[0].at("attrs").at("program_name").get<std::string>() == "bad\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(json[0].at("client").get<std::string>() == "caf\xef\xbf\xbd");
    CHECK(json[0].at("attrs").contains("\xef\xbf\xbd"));
}

TEST_CASE("GET /connections does not throw on invalid UTF-8 either") {
    FakeProxy proxy;
    auto c = sample_connection();
    c.attrs = {{"program_name", std::string("\x80\x81 \0 x", 6)}};
    proxy.rows.push_back(c);
    HttpResponse r;
    REQUIRE_NOTHROW(r = handle_admin_request(request("GET", "/connections"), proxy, loopback));
    CHECK(r.status == 200);
    CHECK(nlohmann::json::accept(r.body));
}

TEST_CASE("An unknown path answers 404") {
    FakeProxy proxy;
    for (const std::string target : {"/metricsx", "/metrics/", "/METRICS", "/admin", "metrics"}) {
        CAPTURE(target);
        const auto r = handle_admin_request(request("GET", target), proxy, loopback);
        CHECK(r.status == 404);
        CHECK(header(r, "Allow") == nullptr);
    }
    CHECK(handle_admin_request(request("POST", "/nope"), proxy, loopback).status == 404);
    CHECK(proxy.metrics_calls == 0);
}

TEST_CASE("Another method on a known path answers 405 with an Allow header") {
    FakeProxy proxy;
    for (const std::string method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
        CAPTURE(method);
        const auto r = handle_admin_request(request(method, "/metrics"), proxy, loopback);
        CHECK(r.status == 405);
        const std::string* allow = header(r, "Allow");
        REQUIRE(allow != nullptr);
        CHECK(*allow == "GET");
    }
    CHECK(handle_admin_request(request("DELETE", "/connections"), proxy, loopback).status == 405);
    CHECK(proxy.metrics_calls == 0);
}

TEST_CASE("HEAD is routed like GET") {
    FakeProxy proxy;
    const auto r = handle_admin_request(request("HEAD", "/metrics"), proxy, loopback);
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
}

TEST_CASE("The query string does not affect routing") {
    FakeProxy proxy;
    CHECK(handle_admin_request(request("GET", "/metrics?name[]=tether_up"), proxy, loopback).status == 200);
    CHECK(handle_admin_request(request("GET", "/healthz?verbose=1"), proxy, loopback).status == 200);
    CHECK(handle_admin_request(request("GET", "/connections?"), proxy, loopback).status == 200);
    CHECK(handle_admin_request(request("GET", "/nope?/metrics"), proxy, loopback).status == 404);
    CHECK(handle_admin_request(request("POST", "/metrics?x=1"), proxy, loopback).status == 405);
    proxy.is_ready = false;
    CHECK(handle_admin_request(request("GET", "/readyz?a=b"), proxy, loopback).status == 503);
}

TEST_CASE("bad_request answers 400 and closes the connection") {
    const auto r = bad_request("HPE_INVALID_METHOD");
    CHECK(r.status == 400);
    CHECK(r.body == "bad request: HPE_INVALID_METHOD\n");
    CHECK(r.close);
    const std::string wire = serialize(r, true);
    CHECK(wire.starts_with("HTTP/1.1 400 Bad Request\r\n"));
    CHECK(wire.find("Connection: close\r\n") != std::string::npos);
    CHECK(wire.find("keep-alive") == std::string::npos);
}

TEST_CASE("serialize writes the status line, headers, Content-Length and body") {
    HttpResponse r;
    r.status = 200;
    r.body = "hello\n";
    const std::string wire = serialize(r, true);
    CHECK(wire ==
          "HTTP/1.1 200 OK\r\n"
          "Content-Type: text/plain; charset=utf-8\r\n"
          "Content-Length: 6\r\n"
          "Connection: keep-alive\r\n"
          "\r\n"
          "hello\n");
}

TEST_CASE("serialize says Connection: close when the client did not ask to keep it") {
    HttpResponse r;
    r.body = "x";
    const std::string wire = serialize(r, false);
    CHECK(wire.find("Connection: close\r\n") != std::string::npos);
    CHECK(wire.find("Connection: keep-alive") == std::string::npos);
}

TEST_CASE("serialize includes extra headers and counts the body in bytes") {
    FakeProxy proxy;
    const auto r = handle_admin_request(request("POST", "/metrics"), proxy, loopback);
    const std::string wire = serialize(r, true);
    CHECK(wire.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    CHECK(wire.find("\r\nAllow: GET\r\n") != std::string::npos);
    CHECK(wire.find("\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n") != std::string::npos);
    const auto body_at = wire.find("\r\n\r\n");
    REQUIRE(body_at != std::string::npos);
    CHECK(wire.substr(body_at + 4) == r.body);

    HttpResponse binary;
    binary.body = std::string("a\0b\xff", 4);
    CHECK(serialize(binary, true).find("Content-Length: 4\r\n") != std::string::npos);
}

TEST_CASE("serialize uses the reason phrase of every status the routes answer") {
    FakeProxy proxy;
    proxy.is_ready = false;
    CHECK(serialize(handle_admin_request(request("GET", "/nope"), proxy, loopback), true)
              .starts_with("HTTP/1.1 404 Not Found\r\n"));
    CHECK(serialize(handle_admin_request(request("GET", "/readyz"), proxy, loopback), true)
              .starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
    HttpResponse forbidden;
    forbidden.status = 403;
    CHECK(serialize(forbidden, true).starts_with("HTTP/1.1 403 Forbidden\r\n"));
}

TEST_CASE("POST /connections/{id}/close closes that session, 404 for an unknown one") {
    FakeProxy proxy;
    auto r = handle_admin_request(request("POST", "/connections/7/close"), proxy, loopback);
    CHECK(r.status == 200);
    CHECK(nlohmann::json::parse(r.body)["closed"] == 7);
    r = handle_admin_request(request("POST", "/connections/8/close"), proxy, loopback);
    CHECK(r.status == 404);
    CHECK(proxy.closed == std::vector<std::uint64_t>{7, 8});
    CHECK(handle_admin_request(request("GET", "/connections/7/close"), proxy, loopback).status == 405);
    CHECK(handle_admin_request(request("POST", "/connections/x7/close"), proxy, loopback).status == 404);
    CHECK(handle_admin_request(request("POST", "/connections//close"), proxy, loopback).status == 404);
    CHECK(handle_admin_request(request("POST", "/connections/99999999999999999999/close"), proxy, loopback).status == 404);
    CHECK(proxy.closed.size() == 2);
}

TEST_CASE("POST /quitquitquit starts the drain") {
    FakeProxy proxy;
    CHECK(handle_admin_request(request("POST", "/quitquitquit"), proxy, loopback).status == 200);
    CHECK(proxy.drains == 1);
    CHECK(handle_admin_request(request("GET", "/quitquitquit"), proxy, loopback).status == 405);
    CHECK(proxy.drains == 1);
}

TEST_CASE("actions on a non-loopback listener need the bearer token") {
    FakeProxy proxy;
    AdminAccess remote;
    remote.listener_loopback = false;
    remote.token = "s3cret";
    auto with_auth = [](std::string method, std::string target, std::string auth) {
        HttpRequest r = request(std::move(method), std::move(target));
        r.authorization = std::move(auth);
        return r;
    };
    CHECK(handle_admin_request(request("POST", "/connections/7/close"), proxy, remote).status == 403);
    CHECK(handle_admin_request(with_auth("POST", "/connections/7/close", "Bearer wrong!"), proxy, remote).status == 403);
    CHECK(handle_admin_request(with_auth("POST", "/connections/7/close", "s3cret"), proxy, remote).status == 403);
    CHECK(handle_admin_request(with_auth("POST", "/quitquitquit", "Bearer s3cre"), proxy, remote).status == 403);
    CHECK(proxy.closed.empty());
    CHECK(proxy.drains == 0);
    CHECK(handle_admin_request(with_auth("POST", "/connections/7/close", "Bearer s3cret"), proxy, remote).status == 200);
    CHECK(handle_admin_request(with_auth("POST", "/quitquitquit", "Bearer s3cret"), proxy, remote).status == 200);
    CHECK(proxy.drains == 1);
    // Scrapers and probes need nothing.
    CHECK(handle_admin_request(request("GET", "/metrics"), proxy, remote).status == 200);
    CHECK(handle_admin_request(request("GET", "/readyz"), proxy, remote).status == 200);
    CHECK(handle_admin_request(request("GET", "/connections"), proxy, remote).status == 200);
    remote.connections_require_token = true;
    CHECK(handle_admin_request(request("GET", "/connections"), proxy, remote).status == 403);
    CHECK(handle_admin_request(with_auth("GET", "/connections", "Bearer s3cret"), proxy, remote).status == 200);
    // No token configured: actions are refused outright on a non-loopback listener.
    AdminAccess open_remote;
    open_remote.listener_loopback = false;
    CHECK(handle_admin_request(request("POST", "/quitquitquit"), proxy, open_remote).status == 403);
    CHECK(handle_admin_request(with_auth("POST", "/quitquitquit", "Bearer "), proxy, open_remote).status == 403);
    CHECK(proxy.drains == 1);
}

TEST_CASE("serialize_head is the head alone, with the body's Content-Length (what HEAD is answered with)") {
    FakeProxy proxy;
    const auto r = handle_admin_request(request("HEAD", "/metrics"), proxy, loopback);
    const std::string head = serialize_head(r, true);
    CHECK(head ==
          "HTTP/1.1 200 OK\r\n"
          "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
          "Content-Length: " + std::to_string(proxy.metrics.size()) + "\r\n"
          "Connection: keep-alive\r\n"
          "\r\n");
    CHECK(serialize(r, true) == head + proxy.metrics);
    // A body that itself holds a blank line does not confuse anything.
    HttpResponse tricky;
    tricky.body = "a\r\n\r\nb";
    CHECK(serialize_head(tricky, false).find("Content-Length: 6\r\n") != std::string::npos);
    CHECK(serialize(tricky, false).ends_with("\r\n\r\na\r\n\r\nb"));
}

TEST_CASE("connections_json escapes control characters, keeps a repeated attribute once, and stays valid JSON") {
    auto c = sample_connection();
    c.attrs = {{"program_name", "first"}, {"_os", "a\"b\\c\n\x01"}, {"program_name", "second"}};
    c.database = std::string("d\0b", 3);
    const std::string text = connections_json({c, c});
    const auto json = nlohmann::json::parse(text);
    REQUIRE(json.size() == 2);
    CHECK(json[0].at("attrs").size() == 2);
    CHECK(json[0].at("attrs").at("program_name") == "first");
    CHECK(json[0].at("attrs").at("_os") == "a\"b\\c\n\x01");
    CHECK(json[0].at("database").get<std::string>() == std::string("d\0b", 3));
    CHECK(json[1] == json[0]);
    std::vector<std::pair<std::string, std::string>> many;
    for (int i = 0; i < 40; ++i) many.emplace_back("k" + std::to_string(i % 20), std::to_string(i));
    c.attrs = many;
    const auto wide = nlohmann::json::parse(connections_json({c}));
    CHECK(wide[0].at("attrs").size() == 20);
    CHECK(wide[0].at("attrs").at("k3") == "3");
    CHECK(connections_json({}) == "[]\n");
}

// Admin endpoints: /metrics, /healthz, /readyz, /connections (see admin_api.hpp).
#include "tether/admin/admin_api.hpp"

#include <nlohmann/json.hpp>

namespace tether::admin {

namespace {

const char* reason_phrase(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 503: return "Service Unavailable";
        default: return "Unknown";
    }
}

HttpResponse text(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

struct Route {
    std::string_view path;
    std::string_view method;
    HttpResponse (*handle)(const HttpRequest&, ProxyView&);
};

HttpResponse get_metrics(const HttpRequest&, ProxyView& proxy) {
    HttpResponse r = text(200, proxy.metrics_text());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
}

HttpResponse get_healthz(const HttpRequest&, ProxyView&) { return text(200, "ok\n"); }

HttpResponse get_readyz(const HttpRequest&, ProxyView& proxy) {
    if (proxy.ready()) return text(200, "ready\n");
    return text(503, "not ready: " + proxy.not_ready_reason() + "\n");
}

HttpResponse get_connections(const HttpRequest&, ProxyView& proxy) {
    HttpResponse r = text(200, connections_json(proxy.connections()));
    r.content_type = "application/json";
    return r;
}

constexpr Route routes[] = {
    {"/metrics", "GET", &get_metrics},
    {"/healthz", "GET", &get_healthz},
    {"/readyz", "GET", &get_readyz},
    {"/connections", "GET", &get_connections},
};

}  // namespace

HttpResponse handle_admin_request(const HttpRequest& request, ProxyView& proxy) {
    const std::string_view path = request.path();
    std::string allowed;
    for (const auto& route : routes) {
        if (route.path != path) continue;
        // HEAD is answered like GET; serialize() leaves the body out.
        if (route.method == request.method || (route.method == "GET" && request.method == "HEAD")) {
            return route.handle(request, proxy);
        }
        if (!allowed.empty()) allowed += ", ";
        allowed += route.method;
    }
    if (allowed.empty()) return text(404, "not found\n");
    HttpResponse r = text(405, "method not allowed\n");
    r.headers.emplace_back("Allow", allowed);
    return r;
}

HttpResponse bad_request(const std::string& why) {
    HttpResponse r = text(400, "bad request: " + why + "\n");
    r.close = true;
    return r;
}

std::string serialize(const HttpResponse& response, bool keep_alive) {
    std::string out;
    out.reserve(response.body.size() + 256);
    out += "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
    out += "Content-Type: " + response.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
    out += (keep_alive && !response.close) ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    out += "\r\n";
    out += response.body;
    return out;
}

std::string connections_json(const std::vector<ConnectionInfo>& connections) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& c : connections) {
        nlohmann::json attrs = nlohmann::json::object();
        for (const auto& [k, v] : c.attrs) attrs[k] = v;
        rows.push_back({
            {"id", c.id},
            {"client", c.client},
            {"user", c.user},
            {"database", c.database},
            {"peer", c.peer},
            {"upstream_thread_id", c.upstream_thread_id},
            {"state", c.state},
            {"age_seconds", c.age_seconds},
            {"idle_seconds", c.idle_seconds},
            {"in_transaction", c.in_transaction},
            {"bytes_from_client", c.bytes_from_client},
            {"bytes_from_upstream", c.bytes_from_upstream},
            {"attrs", std::move(attrs)},
        });
    }
    // Replace invalid UTF-8 from client-supplied attributes instead of throwing.
    return rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace tether::admin

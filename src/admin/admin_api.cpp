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

enum class Guard { open, action, listing };

struct Route {
    std::string_view pattern;  // "{id}" matches one segment of digits
    std::string_view method;
    Guard guard;
    HttpResponse (*handle)(const HttpRequest&, ProxyView&, std::uint64_t id);
};

HttpResponse get_metrics(const HttpRequest&, ProxyView& proxy, std::uint64_t) {
    HttpResponse r = text(200, proxy.metrics_text());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
}

HttpResponse get_healthz(const HttpRequest&, ProxyView&, std::uint64_t) { return text(200, "ok\n"); }

HttpResponse get_readyz(const HttpRequest&, ProxyView& proxy, std::uint64_t) {
    if (proxy.ready()) return text(200, "ready\n");
    return text(503, "not ready: " + proxy.not_ready_reason() + "\n");
}

// The array stays what it always was; how many matched and whether the limit
// cut them is in headers, so existing readers keep working.
HttpResponse get_connections(const HttpRequest& request, ProxyView& proxy, std::uint64_t) {
    const std::string_view target = request.target;
    const auto mark = target.find('?');
    const std::string_view query = mark == std::string_view::npos ? std::string_view() : target.substr(mark + 1);
    std::string error;
    const auto parsed = parse_connection_query(query, error);
    if (!parsed) return text(400, "bad request: " + error + "\n");
    const ConnectionPage page = proxy.connections(*parsed);
    HttpResponse r = text(200, connections_json(page.rows));
    r.content_type = "application/json";
    r.headers.emplace_back("X-Tether-Total", std::to_string(page.total));
    r.headers.emplace_back("X-Tether-Truncated", page.rows.size() < page.total ? "true" : "false");
    return r;
}

HttpResponse post_close(const HttpRequest&, ProxyView& proxy, std::uint64_t id) {
    if (!proxy.close_connection(id)) return text(404, "no session " + std::to_string(id) + "\n");
    HttpResponse r = text(200, "{\"closed\":" + std::to_string(id) + "}\n");
    r.content_type = "application/json";
    return r;
}

HttpResponse post_quit(const HttpRequest&, ProxyView& proxy, std::uint64_t) {
    proxy.drain();
    return text(200, "draining\n");
}

constexpr Route routes[] = {
    {"/metrics", "GET", Guard::open, &get_metrics},
    {"/healthz", "GET", Guard::open, &get_healthz},
    {"/readyz", "GET", Guard::open, &get_readyz},
    {"/connections", "GET", Guard::listing, &get_connections},
    {"/connections/{id}/close", "POST", Guard::action, &post_close},
    {"/quitquitquit", "POST", Guard::action, &post_quit},
};

// Matches `path` against `pattern`; the {id} segment's value goes to `id`.
bool matches(std::string_view pattern, std::string_view path, std::uint64_t& id) {
    constexpr std::string_view placeholder = "{id}";
    const auto at = pattern.find(placeholder);
    if (at == std::string_view::npos) return pattern == path;
    const std::string_view prefix = pattern.substr(0, at);
    const std::string_view suffix = pattern.substr(at + placeholder.size());
    if (path.size() <= prefix.size() + suffix.size() || !path.starts_with(prefix) || !path.ends_with(suffix)) return false;
    const std::string_view digits = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
    if (digits.size() > 19) return false;
    std::uint64_t value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    id = value;
    return true;
}

// Compares in time independent of where the strings differ.
bool token_matches(std::string_view given, std::string_view expected) {
    if (given.size() != expected.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
    return diff == 0;
}

bool has_token(const HttpRequest& request, const AdminAccess& access) {
    constexpr std::string_view scheme = "Bearer ";
    const std::string_view auth = request.authorization;
    return !access.token.empty() && auth.starts_with(scheme) && token_matches(auth.substr(scheme.size()), access.token);
}

bool permitted(Guard guard, const HttpRequest& request, const AdminAccess& access) {
    switch (guard) {
        case Guard::open: return true;
        case Guard::action: return access.listener_loopback || has_token(request, access);
        case Guard::listing:
            return !access.connections_require_token || access.listener_loopback || has_token(request, access);
    }
    return false;
}

}  // namespace

HttpResponse handle_admin_request(const HttpRequest& request, ProxyView& proxy, const AdminAccess& access) {
    const std::string_view path = request.path();
    std::string allowed;
    for (const auto& route : routes) {
        std::uint64_t id = 0;
        if (!matches(route.pattern, path, id)) continue;
        // HEAD is answered like GET; the server leaves the body out.
        if (route.method == request.method || (route.method == "GET" && request.method == "HEAD")) {
            if (!permitted(route.guard, request, access)) {
                return text(403, access.token.empty() && route.guard == Guard::action
                                     ? "forbidden: the admin listener is not loopback and no --admin-token is set\n"
                                     : "forbidden: send Authorization: Bearer <--admin-token>\n");
            }
            return route.handle(request, proxy, id);
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

std::string serialize_head(const HttpResponse& response, bool keep_alive) {
    std::string out;
    out.reserve(256);
    out += "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
    out += "Content-Type: " + response.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
    out += (keep_alive && !response.close) ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    out += "\r\n";
    return out;
}

std::string serialize(const HttpResponse& response, bool keep_alive) {
    std::string out = serialize_head(response, keep_alive);
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

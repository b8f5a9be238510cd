// Admin endpoints: /metrics, /healthz, /readyz, /connections, /status and the status page (see admin_api.hpp).
#include "tether/admin/admin_api.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "tether/util/json_string.hpp"

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

// `?since=UNIX_SECONDS`: only newer history samples (the page's refreshes).
HttpResponse get_status(const HttpRequest& request, ProxyView& proxy, std::uint64_t) {
    const std::string_view target = request.target;
    const auto mark = target.find('?');
    std::int64_t since = 0;
    if (mark != std::string_view::npos) {
        constexpr std::string_view key = "since=";
        const std::string_view query = target.substr(mark + 1);
        const std::string_view digits = query.starts_with(key) ? query.substr(key.size()) : std::string_view();
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), since);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || since < 0) {
            return text(400, "bad request: the only parameter is since=UNIX_SECONDS\n");
        }
    }
    HttpResponse r = text(200, status_json(proxy.status(), since));
    r.content_type = "application/json";
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

// The page's files. The policy allows only the page's own script and style
// files: no inline script or style, nothing from elsewhere, no framing. Should
// a client-chosen string ever reach the DOM as markup, no script in it runs.
HttpResponse page_file(std::string_view body, const char* content_type) {
    HttpResponse r = text(200, std::string(body));
    r.content_type = content_type;
    r.headers = {{"Content-Security-Policy",
                  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
                  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
                 {"X-Content-Type-Options", "nosniff"},
                 {"Cache-Control", "no-store"},
                 {"Referrer-Policy", "no-referrer"}};
    return r;
}

HttpResponse get_page(const HttpRequest&, ProxyView&, std::uint64_t) {
    return page_file(status_page::index_html, "text/html; charset=utf-8");
}
HttpResponse get_page_js(const HttpRequest&, ProxyView&, std::uint64_t) {
    return page_file(status_page::status_js, "text/javascript; charset=utf-8");
}
HttpResponse get_page_css(const HttpRequest&, ProxyView&, std::uint64_t) {
    return page_file(status_page::status_css, "text/css; charset=utf-8");
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
    {"/status", "GET", Guard::listing, &get_status},
    {"/", "GET", Guard::open, &get_page},
    {"/status.js", "GET", Guard::open, &get_page_js},
    {"/status.css", "GET", Guard::open, &get_page_css},
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

namespace {

using json::append_number;

void append_field(std::string& out, std::string_view key, std::string_view value) {
    out += ",\"";
    out += key;
    out += "\":";
    json::append_string(out, value);
}

// Attributes are a JSON object: a key a client sent twice appears once (the
// first), as a JSON reader would otherwise keep only one of them anyway.
void append_attrs(std::string& out, const std::vector<std::pair<std::string, std::string>>& attrs) {
    out += "{";
    std::set<std::string_view> seen;  // only for many attributes; a few are compared in place
    const bool many = attrs.size() > 16;
    bool first = true;
    for (std::size_t i = 0; i < attrs.size(); ++i) {
        // Named references, not a structured binding: clang 14 cannot capture one in a lambda.
        const std::string& k = attrs[i].first;
        const std::string& v = attrs[i].second;
        if (many ? !seen.insert(k).second
                 : std::any_of(attrs.begin(), attrs.begin() + static_cast<std::ptrdiff_t>(i),
                               [&](const auto& earlier) { return earlier.first == k; })) {
            continue;
        }
        if (!first) out += ',';
        first = false;
        json::append_string(out, k);
        out += ':';
        json::append_string(out, v);
    }
    out += "}";
}

}  // namespace

// Written directly rather than through a JSON tree: this runs on the loop every
// proxied query waits on, and a tree of 10,000 rows took ~0.2 s to build and dump.
std::string connections_json(const std::vector<ConnectionInfo>& connections) {
    std::string out;
    out.reserve(connections.size() * 400 + 2);
    out += '[';
    for (std::size_t i = 0; i < connections.size(); ++i) {
        const auto& c = connections[i];
        if (i != 0) out += ',';
        out += "{\"id\":";
        append_number(out, c.id);
        append_field(out, "client", c.client);
        append_field(out, "user", c.user);
        append_field(out, "database", c.database);
        append_field(out, "peer", c.peer);
        out += ",\"upstream_thread_id\":";
        append_number(out, static_cast<std::uint64_t>(c.upstream_thread_id));
        append_field(out, "state", c.state);
        out += ",\"age_seconds\":";
        append_number(out, c.age_seconds);
        out += ",\"idle_seconds\":";
        append_number(out, c.idle_seconds);
        out += c.in_transaction ? ",\"in_transaction\":true" : ",\"in_transaction\":false";
        out += ",\"bytes_from_client\":";
        append_number(out, c.bytes_from_client);
        out += ",\"bytes_from_upstream\":";
        append_number(out, c.bytes_from_upstream);
        for (const auto& [name, version] : {std::pair{"client_tls", &c.client_tls}, std::pair{"upstream_tls", &c.upstream_tls}}) {
            out += ",\"";
            out += name;
            out += "\":";
            if (version->empty()) {
                out += "null";
            } else {
                json::append_string(out, *version);
            }
        }
        out += ",\"last_statement\":";
        if (c.last_statement) {
            json::append_string(out, *c.last_statement);
        } else {
            out += "null";
        }
        out += ",\"commands\":";
        append_number(out, c.commands);
        out += c.leak_suspect ? ",\"leak_suspect\":true" : ",\"leak_suspect\":false";
        out += ",\"attrs\":";
        append_attrs(out, c.attrs);
        out += '}';
    }
    out += "]\n";
    return out;
}

}  // namespace tether::admin

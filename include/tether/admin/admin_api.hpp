// The admin HTTP endpoints: a route table over what the proxy exposes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tether/admin/connection_query.hpp"
#include "tether/admin/http_request_parser.hpp"
#include "tether/admin/status.hpp"

namespace tether::admin {

// One row of GET /connections. Never carries auth data.
struct ConnectionInfo {
    std::uint64_t id = 0;
    std::string client;
    std::string user;
    std::string database;
    std::string peer;
    std::uint32_t upstream_thread_id = 0;
    std::string state;
    double age_seconds = 0;
    double idle_seconds = 0;
    bool in_transaction = false;
    std::uint64_t bytes_from_client = 0;
    std::uint64_t bytes_from_upstream = 0;
    // The TLS version of each leg ("TLSv1.3"); empty for plaintext (JSON null).
    std::string client_tls;
    std::string upstream_tls;
    // The latest statement's fingerprint (literals replaced); none before the
    // first statement, or with --statement-fingerprints off (JSON null).
    std::optional<std::string> last_statement;
    std::uint64_t commands = 0;  // commands the session ran since its login
    bool leak_suspect = false;   // idle past --leak-idle-threshold
    std::vector<std::pair<std::string, std::string>> attrs;
};

// The rows of one GET /connections answer: the matching sessions with the
// lowest ids, at most the query's limit, sorted by id.
struct ConnectionPage {
    std::vector<ConnectionInfo> rows;
    std::size_t total = 0;  // sessions that matched, before the limit
};

// What the admin endpoints read from the running proxy; the I/O layer implements it.
class ProxyView {
public:
    virtual ~ProxyView() = default;
    virtual std::string metrics_text() = 0;
    virtual bool ready() = 0;
    virtual std::string not_ready_reason() = 0;
    // Filters before building rows, so a narrow query over many sessions stays cheap.
    virtual ConnectionPage connections(const ConnectionQuery& query) = 0;
    // GET /status: the status page's figures.
    virtual StatusSnapshot status() = 0;
    // Closes one session (reason admin); false when there is no such session.
    virtual bool close_connection(std::uint64_t id) = 0;
    // Starts the graceful shutdown (as SIGTERM does).
    virtual void drain() = 0;
};

// Who may do what. Actions (closing a session, draining) are open on a loopback
// listener, where only this host reaches them; elsewhere they need the bearer token.
struct AdminAccess {
    bool listener_loopback = true;
    std::string token;  // empty: actions are refused on a non-loopback listener
    bool connections_require_token = false;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool close = false;
};

// Routes one request. Unknown paths 404, known paths with another method 405,
// actions without the right credentials 403.
HttpResponse handle_admin_request(const HttpRequest& request, ProxyView& proxy, const AdminAccess& access);
// 400 for a request the parser rejected; the connection closes after it.
HttpResponse bad_request(const std::string& why);

// The status line and headers, up to and including the blank line. Content-Length
// is the body's size, also when the body is not sent (the answer to HEAD is the
// head alone: the I/O layer writes the body only for other methods).
std::string serialize_head(const HttpResponse& response, bool keep_alive);
// Head and body in one string (responses written whole, and tests).
std::string serialize(const HttpResponse& response, bool keep_alive);

std::string connections_json(const std::vector<ConnectionInfo>& connections);

}  // namespace tether::admin

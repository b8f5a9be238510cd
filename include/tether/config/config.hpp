// Every setting of tether, read from flags and TETHER_* environment variables.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tether/config/address.hpp"

namespace tether::config {

// --client-tls: TLS that tether terminates for its clients.
enum class ClientTlsMode { disabled, preferred, required };
// --upstream-tls: TLS of tether's own to the server, as MySQL's clients' --ssl-mode.
enum class UpstreamTlsMode { disabled, preferred, required, verify_ca, verify_identity };

struct TlsConfig {
    std::string cert_file;  // --tls-cert: PEM, the client leg's certificate (a chain is allowed)
    std::string key_file;   // --tls-key
    ClientTlsMode client = ClientTlsMode::disabled;
    UpstreamTlsMode upstream = UpstreamTlsMode::preferred;
    std::string upstream_ca_file;    // --upstream-tls-ca (verify-*; empty: the system's CAs)
    std::string upstream_cert_file;  // --upstream-tls-cert / --upstream-tls-key: a client certificate
    std::string upstream_key_file;
    std::string upstream_server_name;  // --upstream-tls-server-name; empty: the host of --upstream
    std::string min_version = "TLSv1.2";  // --tls-min-version: TLSv1.2 or TLSv1.3, both legs
    std::string ciphers;                  // --tls-ciphers: OpenSSL list for TLS 1.2 (1.3 suites stay default)
    // How often the certificate files are checked for a replacement (and on SIGHUP).
    std::chrono::milliseconds reload_interval{10'000};
};

// The monitor session: tether's own login to the server (see README, "Monitor session").
struct MonitorConfig {
    std::string user;           // --monitor-user; empty: no monitor session
    std::string password_file;  // --monitor-password-file (re-read when it changes)
    // TETHER_MONITOR_PASSWORD is set: io reads it from the environment
    // itself, so the configuration never holds the password.
    bool password_from_env = false;
    std::chrono::milliseconds interval{1'000};  // --monitor-interval
    [[nodiscard]] bool configured() const { return !user.empty(); }
};
inline constexpr const char* monitor_password_env = "TETHER_MONITOR_PASSWORD";

struct Config {
    Address listen;
    Address upstream;
    Address admin;
    std::chrono::milliseconds handshake_timeout{5'000};
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds readiness_interval{10'000};
    // false: /readyz ignores the upstream (a sidecar: a database outage must not
    // pull every app pod out of its Service); still 503 while draining.
    bool readyz_checks_upstream = true;
    std::chrono::milliseconds series_linger{15 * 60'000};
    std::string client_label = "attr:program_name,addr";
    std::size_t max_client_labels = 100;
    std::string reserved_user = "tether_abort_login";
    // Leak detection and protection.
    std::chrono::milliseconds leak_idle_threshold{5 * 60'000};
    std::chrono::milliseconds leak_report_interval{60'000};
    // How often the status page's history ring takes a sample (an hour of them is kept).
    std::chrono::milliseconds status_sample_interval{10'000};
    std::chrono::milliseconds idle_timeout{0};                 // 0: off
    std::chrono::milliseconds idle_in_transaction_timeout{0};  // 0: off
    std::chrono::milliseconds client_keepalive{30'000};        // 0: off
    std::chrono::milliseconds upstream_keepalive{30'000};      // 0: off
    std::size_t max_connections = 0;             // 0: no cap
    std::size_t max_connections_per_client = 0;  // 0: no cap
    std::size_t max_connections_per_user = 0;    // 0: no cap
    // Sessions not logged in yet (each holds a server connection): see README, "Caps".
    std::size_t max_handshakes = 64;              // 0: no cap
    std::size_t max_handshakes_per_address = 0;   // 0: no cap (a sidecar sees every client from one address)
    // Connections over those caps wait (holding only their socket) this many at most; 0: refused at once.
    std::size_t max_handshake_queue = 1024;
    std::vector<std::string> admin_users;
    std::string admin_token;
    bool connections_require_token = false;
    std::chrono::milliseconds admin_idle_timeout{90'000};
    std::size_t admin_max_connections = 64;
    std::chrono::milliseconds shutdown_grace{30'000};
    std::string log_format = "text";
    std::string log_level = "info";
    TlsConfig tls;
    MonitorConfig monitor;
    // What tether does with the monitor session (README, "Monitor session").
    // --kill-orphaned-queries: unset means "on when a monitor user is set".
    std::optional<bool> kill_orphaned_queries;
    std::size_t server_reserve = 0;            // --server-reserve; 0: off
    bool server_connections_by_user = false;   // --server-connections-by-user
    bool statement_fingerprints = true;        // --statement-fingerprints
};

std::string_view mode_name(ClientTlsMode mode);
std::string_view mode_name(UpstreamTlsMode mode);

// Either a Config to run with, or an exit status: 0 after --help/--version,
// 2 after a one-line error naming the flag (already printed to stderr).
std::variant<Config, int> parse_command_line(int argc, char** argv);

}  // namespace tether::config

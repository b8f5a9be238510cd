// Command line and environment (see config.hpp). CLI11 reads both in one place.
#include "tether/config/config.hpp"

#include <CLI/CLI.hpp>

#include <array>
#include <charconv>
#include <cstdlib>
#include <iostream>

#include "tether/config/duration.hpp"

namespace tether::config {

namespace {

struct BadFlag {
    std::string message;
};

Address address_flag(const std::string& flag, const std::string& value) {
    std::string error;
    auto a = parse_address(value, error);
    if (!a) throw BadFlag{flag + ": '" + value + "': " + error};
    return *a;
}

std::chrono::milliseconds duration_flag(const std::string& flag, const std::string& value) {
    auto d = parse_duration(value);
    if (!d) throw BadFlag{flag + ": '" + value + "' is not a duration (use e.g. 500ms, 30s, 5m, 1h)"};
    return *d;
}

std::size_t count_flag(const std::string& flag, const std::string& value, std::size_t min, std::size_t max) {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n, 10);
    if (value.empty() || ec != std::errc{} || end != value.data() + value.size() || n < min || n > max) {
        throw BadFlag{flag + ": '" + value + "' is not a whole number from " + std::to_string(min) + " to " +
                      std::to_string(max)};
    }
    return n;
}

// true/false (also 1/0, yes/no, on/off): Kubernetes manifests write all of these.
bool bool_flag(const std::string& flag, const std::string& value) {
    std::string v;
    for (char c : value) v += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
    if (v == "false" || v == "0" || v == "no" || v == "off") return false;
    throw BadFlag{flag + ": '" + value + "' is not true or false"};
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        std::string item = text.substr(start, comma - start);
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) items.push_back(std::move(item));
        start = comma + 1;
    }
    return items;
}

template <class Mode, std::size_t N>
Mode mode_flag(const std::string& flag, const std::string& value, const std::array<Mode, N>& modes) {
    std::string names;
    for (Mode m : modes) {
        if (value == mode_name(m)) return m;
        names += (names.empty() ? "" : ", ") + std::string(mode_name(m));
    }
    throw BadFlag{flag + ": '" + value + "' is not one of " + names};
}

}  // namespace

std::string_view mode_name(ClientTlsMode mode) {
    switch (mode) {
        case ClientTlsMode::disabled: return "disabled";
        case ClientTlsMode::preferred: return "preferred";
        case ClientTlsMode::required: return "required";
    }
    return "disabled";
}

std::string_view mode_name(UpstreamTlsMode mode) {
    switch (mode) {
        case UpstreamTlsMode::disabled: return "disabled";
        case UpstreamTlsMode::preferred: return "preferred";
        case UpstreamTlsMode::required: return "required";
        case UpstreamTlsMode::verify_ca: return "verify-ca";
        case UpstreamTlsMode::verify_identity: return "verify-identity";
    }
    return "preferred";
}

std::variant<Config, int> parse_command_line(int argc, char** argv) {
    Config config;
    std::string listen = "127.0.0.1:3307";
    std::string upstream;
    std::string admin = "127.0.0.1:9591";
    std::string handshake_timeout = "5s";
    std::string connect_timeout = "5s";
    std::string readiness_interval = "10s";
    std::string readyz_checks_upstream = "true";
    std::string series_linger = "15m";
    std::string leak_idle_threshold = "5m";
    std::string leak_report_interval = "1m";
    std::string status_sample_interval = "10s";
    std::string idle_timeout = "0";
    std::string idle_in_transaction_timeout = "0";
    std::string client_keepalive = "30s";
    std::string upstream_keepalive = "30s";
    std::string admin_users;
    std::string shutdown_grace = "30s";
    // Longer than any usual scrape interval (15-60 s): a Prometheus keep-alive
    // connection completes a request every interval and is never cut.
    std::string admin_idle_timeout = "90s";
    std::string admin_max_connections = "64";
    // Counts are read as text and parsed here in base 10: CLI11's own
    // conversion reads "010" as octal and clamps values past the type's range.
    std::string max_client_labels = "100";
    std::string max_connections = "0";
    std::string max_connections_per_client = "0";
    std::string max_connections_per_user = "0";
    std::string max_handshakes = "64";
    std::string max_handshakes_per_address = "0";
    std::string max_handshake_queue = "1024";
    std::string client_tls;  // default: preferred with a certificate, else disabled
    std::string upstream_tls = "preferred";
    std::string tls_reload_interval = "10s";
    std::string monitor_interval = "1s";
    std::string kill_orphaned_queries;  // default: true with a monitor user
    std::string server_reserve = "0";
    std::string server_connections_by_user = "false";
    std::string statement_fingerprints = "on";

    CLI::App app{"tether: a leak-detecting MySQL wire-protocol sidecar proxy.\n"
                 "Every flag can also be set as TETHER_<FLAG> (e.g. TETHER_UPSTREAM=db:3306).",
                 "tether"};
    app.set_version_flag("--version", std::string("tether ") + TETHER_VERSION);
    app.get_formatter()->column_width(38);
    auto flag = [&](const std::string& name, std::string& target, const std::string& help) {
        std::string env = "TETHER_" + name.substr(2);
        for (auto& c : env) c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return app.add_option(name, target, help)->envname(env)->capture_default_str();
    };
    flag("--listen", listen, "Where applications connect: host:port or unix:/path");
    flag("--upstream", upstream, "The MySQL/MariaDB server: host:port (resolved on every connect) or unix:/path")
        ->required();
    flag("--admin", admin, "Admin HTTP (/metrics /healthz /readyz /connections): host:port");
    flag("--handshake-timeout", handshake_timeout,
         "A client must finish its login within this; keep it below the server's connect_timeout (10s)");
    flag("--connect-timeout", connect_timeout, "Limit for connecting to the upstream");
    flag("--readiness-interval", readiness_interval,
         "How often /readyz re-checks an otherwise idle upstream with a refused reserved-user login");
    flag("--readyz-checks-upstream", readyz_checks_upstream,
         "true: /readyz is 503 while the upstream does not answer; false: only while not listening or draining "
         "(a sidecar: a database outage should not take the app's pods out of their Service)");
    flag("--client-label", config.client_label,
         "How the client label is chosen, first match wins: attr:NAME (connection attribute), user, addr");
    flag("--max-client-labels", max_client_labels,
         "Distinct client (and user) label values exported; more become client=\"_other\"");
    flag("--series-linger", series_linger, "How long a client's counters stay after its last session ends");
    flag("--reserved-user", config.reserved_user,
         "A user name that must NOT exist on the server: abandoned handshakes are finished with a refused login for it");
    flag("--leak-idle-threshold", leak_idle_threshold,
         "A session idle (no command in flight) longer than this is a leak suspect");
    flag("--leak-report-interval", leak_report_interval, "How often the leak report is logged while anything is suspect");
    flag("--status-sample-interval", status_sample_interval,
         "How often the status page's chart records the open sessions per client (the last hour is kept; 1s to 1h)");
    flag("--idle-timeout", idle_timeout, "Close sessions idle longer than this (0: off); never while a command runs");
    flag("--idle-in-transaction-timeout", idle_in_transaction_timeout,
         "Close sessions idle inside a transaction longer than this (0: off)");
    flag("--client-keepalive", client_keepalive,
         "TCP keepalive and TCP_USER_TIMEOUT on client sockets: a vanished client host is noticed within about twice this (0: off)");
    flag("--upstream-keepalive", upstream_keepalive, "The same on server sockets (0: off)");
    flag("--max-connections", max_connections, "Cap on all sessions, admin users excepted (0: none)");
    flag("--max-connections-per-client", max_connections_per_client, "Cap per client label (0: none)");
    flag("--max-connections-per-user", max_connections_per_user, "Cap per MySQL user (0: none)");
    flag("--max-handshakes", max_handshakes,
         "Cap on connections not logged in yet (each holds a server connection); more wait for a slot in the handshake queue (0: none)");
    flag("--max-handshakes-per-address", max_handshakes_per_address,
         "The same cap per client IP address (0: none)");
    flag("--max-handshake-queue", max_handshake_queue,
         "Connections over the handshake caps that may wait for a slot (only their socket, no server connection) "
         "within --handshake-timeout from accept; beyond it, or after it, refused with 1040 (0: refused at once)");
    flag("--admin-users", admin_users, "Comma list of MySQL users never refused by the caps nor charged to them (DBAs)");
    flag("--admin-token", config.admin_token,
         "Bearer token for admin actions when the admin listener is not loopback");
    app.add_flag("--connections-require-token", config.connections_require_token,
                 "GET /connections also needs the token (on a non-loopback admin listener)")
        ->envname("TETHER_CONNECTIONS_REQUIRE_TOKEN");
    flag("--admin-idle-timeout", admin_idle_timeout,
         "An admin connection that completes no request for this long is closed");
    flag("--admin-max-connections", admin_max_connections,
         "Admin connections open at once; more are answered 503 and closed (keeps descriptors for MySQL clients)");
    flag("--shutdown-grace", shutdown_grace,
         "On SIGTERM, how long open sessions may keep working before they are closed");
    flag("--tls-cert", config.tls.cert_file,
         "PEM certificate (a chain is allowed) tether shows clients that ask for TLS; reloaded when the file changes and on SIGHUP");
    flag("--tls-key", config.tls.key_file, "PEM private key of --tls-cert");
    flag("--client-tls", client_tls,
         "disabled, preferred or required: TLS tether terminates for clients (default preferred with --tls-cert, else disabled)");
    flag("--upstream-tls", upstream_tls,
         "disabled, preferred, required, verify-ca or verify-identity: TLS of tether's own to the server, as --ssl-mode");
    flag("--upstream-tls-ca", config.tls.upstream_ca_file, "PEM CA file for verify-ca and verify-identity (default: the system's)");
    flag("--upstream-tls-cert", config.tls.upstream_cert_file, "PEM client certificate for servers that require one");
    flag("--upstream-tls-key", config.tls.upstream_key_file, "PEM private key of --upstream-tls-cert");
    flag("--upstream-tls-server-name", config.tls.upstream_server_name,
         "SNI and the name verify-identity checks (default: the host of --upstream)");
    flag("--tls-min-version", config.tls.min_version, "TLSv1.2 or TLSv1.3, on both legs");
    flag("--tls-ciphers", config.tls.ciphers, "OpenSSL cipher list for TLS 1.2 on both legs (default: OpenSSL's)");
    flag("--tls-reload-interval", tls_reload_interval, "How often --tls-cert and --tls-key are checked for a replacement");
    flag("--monitor-user", config.monitor.user,
         "A MySQL user tether logs in as to read the server's status every --monitor-interval (see README); "
         "its password from --monitor-password-file or TETHER_MONITOR_PASSWORD");
    flag("--monitor-password-file", config.monitor.password_file,
         "File holding the monitor user's password (one trailing newline stripped); re-read when it changes");
    flag("--monitor-interval", monitor_interval, "How often the monitor session reads the server's status");
    flag("--kill-orphaned-queries", kill_orphaned_queries,
         "KILL, through the monitor session, the server thread of a session tether ended with a command in flight "
         "(default true when --monitor-user is set)");
    flag("--server-reserve", server_reserve,
         "Refuse non-admin logins (ERR 1040) while the server has this many free connections or fewer, as the "
         "monitor reads it (0: off; needs --monitor-user)");
    flag("--server-connections-by-user", server_connections_by_user,
         "Export tether_server_connections{user} from the server's processlist (needs --monitor-user)");
    flag("--statement-fingerprints", statement_fingerprints,
         "Keep each session's latest statement as a fingerprint (literals replaced by ?) for /connections and the "
         "leak log: on or off");
    flag("--log-format", config.log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
    flag("--log-level", config.log_level, "debug, info, warn or error")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

    try {
        app.parse(argc, argv);
        config.listen = address_flag("--listen", listen);
        config.upstream = address_flag("--upstream", upstream);
        config.admin = address_flag("--admin", admin);
        if (config.admin.kind != Address::Kind::tcp) throw BadFlag{"--admin: must be host:port"};
        config.handshake_timeout = duration_flag("--handshake-timeout", handshake_timeout);
        config.connect_timeout = duration_flag("--connect-timeout", connect_timeout);
        config.readiness_interval = duration_flag("--readiness-interval", readiness_interval);
        config.readyz_checks_upstream = bool_flag("--readyz-checks-upstream", readyz_checks_upstream);
        config.series_linger = duration_flag("--series-linger", series_linger);
        config.leak_idle_threshold = duration_flag("--leak-idle-threshold", leak_idle_threshold);
        config.leak_report_interval = duration_flag("--leak-report-interval", leak_report_interval);
        config.status_sample_interval = duration_flag("--status-sample-interval", status_sample_interval);
        if (config.status_sample_interval < std::chrono::seconds(1) || config.status_sample_interval > std::chrono::hours(1)) {
            throw BadFlag{"--status-sample-interval: must be between 1s and 1h"};
        }
        config.idle_timeout = duration_flag("--idle-timeout", idle_timeout);
        config.idle_in_transaction_timeout = duration_flag("--idle-in-transaction-timeout", idle_in_transaction_timeout);
        config.client_keepalive = duration_flag("--client-keepalive", client_keepalive);
        config.upstream_keepalive = duration_flag("--upstream-keepalive", upstream_keepalive);
        config.shutdown_grace = duration_flag("--shutdown-grace", shutdown_grace);
        config.admin_idle_timeout = duration_flag("--admin-idle-timeout", admin_idle_timeout);
        if (config.admin_idle_timeout.count() == 0) throw BadFlag{"--admin-idle-timeout: must be more than 0"};
        config.admin_max_connections = count_flag("--admin-max-connections", admin_max_connections, 1, 10000);
        if (config.leak_idle_threshold.count() == 0) throw BadFlag{"--leak-idle-threshold: must be more than 0"};
        if (config.leak_report_interval.count() == 0) throw BadFlag{"--leak-report-interval: must be more than 0"};
        for (auto [name, value] : {std::pair{"--client-keepalive", config.client_keepalive},
                                   std::pair{"--upstream-keepalive", config.upstream_keepalive}}) {
            if (value.count() != 0 && value < std::chrono::seconds(1)) {
                throw BadFlag{std::string(name) + ": must be 0 (off) or at least 1s (TCP keepalive counts whole seconds)"};
            }
        }
        config.admin_users = split_list(admin_users);
        config.max_client_labels = count_flag("--max-client-labels", max_client_labels, 1, 100000);
        config.max_connections = count_flag("--max-connections", max_connections, 0, 10'000'000);
        config.max_connections_per_client =
            count_flag("--max-connections-per-client", max_connections_per_client, 0, 10'000'000);
        config.max_connections_per_user = count_flag("--max-connections-per-user", max_connections_per_user, 0, 10'000'000);
        config.max_handshakes = count_flag("--max-handshakes", max_handshakes, 0, 10'000'000);
        config.max_handshakes_per_address =
            count_flag("--max-handshakes-per-address", max_handshakes_per_address, 0, 10'000'000);
        config.max_handshake_queue = count_flag("--max-handshake-queue", max_handshake_queue, 0, 1'000'000);
        if (config.handshake_timeout.count() == 0) throw BadFlag{"--handshake-timeout: must be more than 0"};
        if (config.connect_timeout.count() == 0) throw BadFlag{"--connect-timeout: must be more than 0"};
        if (config.readiness_interval.count() == 0) throw BadFlag{"--readiness-interval: must be more than 0"};
        auto& tls = config.tls;
        if (tls.cert_file.empty() != tls.key_file.empty()) throw BadFlag{"--tls-cert and --tls-key: give both or neither"};
        tls.client = client_tls.empty() ? (tls.cert_file.empty() ? ClientTlsMode::disabled : ClientTlsMode::preferred)
                                        : mode_flag("--client-tls", client_tls,
                                                    std::array{ClientTlsMode::disabled, ClientTlsMode::preferred,
                                                               ClientTlsMode::required});
        if (tls.client != ClientTlsMode::disabled && tls.cert_file.empty()) {
            throw BadFlag{"--client-tls " + std::string(mode_name(tls.client)) + ": needs --tls-cert and --tls-key"};
        }
        tls.upstream = mode_flag("--upstream-tls", upstream_tls,
                                 std::array{UpstreamTlsMode::disabled, UpstreamTlsMode::preferred, UpstreamTlsMode::required,
                                            UpstreamTlsMode::verify_ca, UpstreamTlsMode::verify_identity});
        if (tls.upstream_cert_file.empty() != tls.upstream_key_file.empty()) {
            throw BadFlag{"--upstream-tls-cert and --upstream-tls-key: give both or neither"};
        }
        if (tls.min_version != "TLSv1.2" && tls.min_version != "TLSv1.3") {
            throw BadFlag{"--tls-min-version: '" + tls.min_version + "' is not TLSv1.2 or TLSv1.3"};
        }
        if (config.upstream.kind != Address::Kind::tcp && tls.upstream != UpstreamTlsMode::disabled &&
            tls.upstream != UpstreamTlsMode::preferred) {
            throw BadFlag{"--upstream-tls " + std::string(mode_name(tls.upstream)) + ": a unix socket upstream has no TLS"};
        }
        tls.reload_interval = duration_flag("--tls-reload-interval", tls_reload_interval);
        if (!kill_orphaned_queries.empty()) {
            config.kill_orphaned_queries = bool_flag("--kill-orphaned-queries", kill_orphaned_queries);
        }
        config.server_reserve = count_flag("--server-reserve", server_reserve, 0, 1'000'000);
        config.server_connections_by_user = bool_flag("--server-connections-by-user", server_connections_by_user);
        config.statement_fingerprints = bool_flag("--statement-fingerprints", statement_fingerprints);
        if (tls.reload_interval.count() == 0) throw BadFlag{"--tls-reload-interval: must be more than 0"};
        auto& monitor = config.monitor;
        monitor.password_from_env = std::getenv(monitor_password_env) != nullptr;
        monitor.interval = duration_flag("--monitor-interval", monitor_interval);
        if (monitor.interval < std::chrono::milliseconds(100) || monitor.interval > std::chrono::hours(1)) {
            throw BadFlag{"--monitor-interval: must be from 100ms to 1h"};
        }
        if (!monitor.configured() && !monitor.password_file.empty()) {
            throw BadFlag{"--monitor-password-file: needs --monitor-user"};
        }
        if (monitor.configured()) {
            if (monitor.user.size() > 80) throw BadFlag{"--monitor-user: must be 1 to 80 characters"};
            if (monitor.user == config.reserved_user) throw BadFlag{"--monitor-user: must not be the --reserved-user"};
            if (monitor.password_file.empty() && !monitor.password_from_env) {
                throw BadFlag{"--monitor-user: needs --monitor-password-file FILE or TETHER_MONITOR_PASSWORD"};
            }
            if (!monitor.password_file.empty() && monitor.password_from_env) {
                throw BadFlag{"--monitor-password-file and TETHER_MONITOR_PASSWORD: give one, not both"};
            }
        }
        // What the monitor session does: on by default with one, impossible without.
        if (!config.kill_orphaned_queries) config.kill_orphaned_queries = monitor.configured();
        if (!monitor.configured()) {
            if (*config.kill_orphaned_queries && !kill_orphaned_queries.empty()) {
                throw BadFlag{"--kill-orphaned-queries: needs --monitor-user (tether KILLs through its monitor session)"};
            }
            if (config.server_reserve > 0) throw BadFlag{"--server-reserve: needs --monitor-user (it reads the server through it)"};
            if (config.server_connections_by_user) throw BadFlag{"--server-connections-by-user: needs --monitor-user"};
        }
        if (config.reserved_user.empty() || config.reserved_user.size() > 32) {
            throw BadFlag{"--reserved-user: must be 1 to 32 characters"};
        }
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return 0;
    } catch (const CLI::CallForVersion&) {
        std::cout << app.version() << "\n";
        return 0;
    } catch (const CLI::ParseError& e) {
        std::cerr << "tether: " << e.what() << " (see --help)\n";
        return 2;
    } catch (const BadFlag& e) {
        std::cerr << "tether: " << e.message << "\n";
        return 2;
    }
    return config;
}

}  // namespace tether::config

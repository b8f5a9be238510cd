// The monitor session's login and queries (see monitor_session.hpp).
#include "tether/monitor/monitor_session.hpp"

#include <openssl/crypto.h>

#include <cassert>
#include <cstring>

#include "tether/codec/command.hpp"
#include "tether/codec/response.hpp"
#include "tether/codec/text_result.hpp"
#include "tether/codec/wire.hpp"
#include "tether/monitor/auth_scramble.hpp"
#include "tether/tls/rsa_password.hpp"

namespace tether::monitor {

namespace {

namespace cap = codec::cap;

constexpr std::string_view native_plugin = "mysql_native_password";
constexpr std::string_view caching_sha2_plugin = "caching_sha2_password";
constexpr std::uint8_t request_public_key = 0x02;
constexpr std::uint8_t com_query = 0x03;
constexpr std::uint8_t com_quit = 0x01;
// More columns than any status query has, far below what would cost memory.
constexpr std::uint64_t max_columns = 4096;
// A refused login gets an answer or two; a server that goes on asking is not finished with.
constexpr int max_finishing_rounds = 4;

// What tether asks for: what every 4.1+ server understands, plus
// DEPRECATE_EOF (fewer packets) and attributes naming tether in the server's
// performance_schema. CLIENT_MYSQL (bit 0) mirrors the server, so MariaDB
// does not look for extended capabilities tether does not send.
constexpr codec::Capabilities wanted = cap::long_password | cap::protocol_41 | cap::secure_connection |
                                       cap::plugin_auth | cap::plugin_auth_lenenc_client_data | cap::transactions |
                                       cap::connect_attrs | cap::deprecate_eof;

std::vector<std::byte> with_nul(std::string_view password) {
    std::vector<std::byte> out(password.size() + 1);
    std::memcpy(out.data(), password.data(), password.size());
    return out;
}

void wipe(std::vector<std::byte>& bytes) {
    if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
    bytes.clear();
}

std::string err_text(const codec::ErrPacket& err) {
    std::string text = std::to_string(err.code);
    if (!err.sql_state.empty()) text += " (" + std::string(err.sql_state) + ")";
    return text + " " + std::string(err.message);
}

}  // namespace

std::string_view failure_kind_name(MonitorFailure::Kind kind) {
    switch (kind) {
        case MonitorFailure::Kind::refused: return "refused";
        case MonitorFailure::Kind::tls: return "tls";
        case MonitorFailure::Kind::login: return "login";
        case MonitorFailure::Kind::protocol: return "protocol";
        case MonitorFailure::Kind::closed: return "closed";
    }
    return "closed";
}

MonitorSession::MonitorSession(MonitorSettings settings) : settings_(std::move(settings)) {}

MonitorSession::~MonitorSession() { settings_.password.wipe(); }

void MonitorSession::on_server_bytes(codec::Bytes bytes, MonitorOutput& out) {
    if (phase_ == Phase::closed) return;
    input_.insert(input_.end(), bytes.begin(), bytes.end());
    // One packet is at most an answer's whole budget: a bigger one is refused
    // from its header, before its bytes are kept.
    const std::size_t max_payload = settings_.max_result_bytes + 1024;
    std::size_t at = 0;
    while (phase_ != Phase::closed) {
        const codec::Bytes rest = codec::Bytes(input_).subspan(at);
        const auto header = codec::decode_header(rest);
        if (!header.ok()) break;
        const std::uint32_t length = header.value.payload_length;
        if (length >= codec::max_physical_payload || length > max_payload) {
            fail({MonitorFailure::Kind::protocol, 0,
                  "the server sent a packet of " + std::to_string(length) + " bytes, over the monitor's limit of " +
                      std::to_string(max_payload)},
                 out);
            return;
        }
        if (rest.size() < codec::header_size + length) break;
        if (header.value.sequence_id != next_sequence_id_) {
            fail({MonitorFailure::Kind::protocol, 0,
                  "packet out of order: sequence id " + std::to_string(header.value.sequence_id) + ", expected " +
                      std::to_string(next_sequence_id_)},
                 out);
            return;
        }
        next_sequence_id_ = static_cast<std::uint8_t>(header.value.sequence_id + 1);
        at += codec::header_size + length;
        on_packet(header.value.sequence_id, rest.subspan(codec::header_size, length), out);
    }
    if (phase_ == Phase::closed) return;
    input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(at));
}

void MonitorSession::on_packet(std::uint8_t, codec::Bytes payload, MonitorOutput& out) {
    switch (phase_) {
        case Phase::greeting: return on_greeting(payload, out);
        case Phase::authenticating: return on_auth_packet(payload, out);
        case Phase::finishing: return on_finishing_packet(payload, out);
        case Phase::querying: return on_answer_packet(payload, out);
        case Phase::securing:
        case Phase::ready:
            return fail({MonitorFailure::Kind::protocol, 0, "the server sent a packet when none was due"}, out);
        case Phase::closed: return;
    }
}

void MonitorSession::on_greeting(codec::Bytes payload, MonitorOutput& out) {
    if (codec::is_err_packet(payload)) {
        const auto err = codec::decode_err(payload);
        if (!err.ok()) return fail({MonitorFailure::Kind::refused, 0, "the server refused the connection"}, out);
        return fail({MonitorFailure::Kind::refused, err.value.code, "the server refused the connection: " + err_text(err.value)},
                    out);
    }
    auto greeting = codec::decode_greeting(payload);
    if (!greeting.ok()) {
        return fail({MonitorFailure::Kind::protocol, 0, "malformed greeting: " + std::string(greeting.error)}, out);
    }
    const codec::Greeting& g = greeting.value;
    if ((g.capabilities & cap::protocol_41) == 0 || (g.capabilities & cap::secure_connection) == 0 ||
        g.auth_plugin_data.size() < 20) {
        return fail({MonitorFailure::Kind::protocol, 0, "the server speaks a protocol older than 4.1"}, out);
    }
    thread_id_ = g.thread_id;
    server_version_ = std::string(g.display_version());
    capabilities_ = g.capabilities & wanted & 0xFFFFFFFFull;
    nonce_.assign(g.auth_plugin_data.begin(), g.auth_plugin_data.begin() + 20);
    plugin_ = g.auth_plugin_name == caching_sha2_plugin ? std::string(caching_sha2_plugin) : std::string(native_plugin);
    const bool offers_tls = (g.capabilities & cap::ssl) != 0;
    if (settings_.tls != TlsWish::disabled && offers_tls) {
        codec::SslRequest request;
        request.capabilities = capabilities_ | cap::ssl;
        request.max_packet_size = 16 * 1024 * 1024;
        request.character_set = g.character_set != 0 ? g.character_set : 33;
        codec::append_packet(out.to_server, 1, codec::encode_ssl_request(request));
        tls_ = true;
        phase_ = Phase::securing;
        out.start_tls = true;
        return;
    }
    if (settings_.tls == TlsWish::required) {
        return finish_with_reserved_login(
            {MonitorFailure::Kind::tls, 0, "the server does not offer TLS, and --upstream-tls requires it"}, out);
    }
    send_login(out);
}

void MonitorSession::on_tls_ready(MonitorOutput& out) {
    if (phase_ != Phase::securing) return;
    send_login(out);
}

void MonitorSession::on_tls_failed(std::string_view why, bool channel_usable, MonitorOutput& out) {
    if (phase_ != Phase::securing) return;
    MonitorFailure failure{MonitorFailure::Kind::tls, 0, "TLS to the server failed: " + std::string(why)};
    if (!channel_usable) return fail(std::move(failure), out);
    finish_with_reserved_login(std::move(failure), out);  // the untrusted server never sees the password
}

void MonitorSession::on_closed(std::string_view why, MonitorOutput& out) {
    if (phase_ == Phase::closed) return;
    if (pending_failure_) return fail(std::move(*pending_failure_), out);
    std::string message = phase_ == Phase::greeting ? "the server closed the connection before its greeting"
                                                     : "the server closed the connection";
    if (!why.empty()) message += " (" + std::string(why) + ")";
    fail({MonitorFailure::Kind::closed, 0, std::move(message)}, out);
}

// HandshakeResponse41 for the monitor user, with the answer for the plugin the greeting named.
void MonitorSession::send_login(MonitorOutput& out) {
    codec::Login login;
    login.capabilities = capabilities_ | (tls_ ? cap::ssl : 0);
    login.max_packet_size = 16 * 1024 * 1024;
    login.character_set = 33;
    login.user = settings_.user;
    login.auth_response_encoding = (login.capabilities & cap::plugin_auth_lenenc_client_data) != 0
                                       ? codec::AuthResponseEncoding::lenenc
                                       : codec::AuthResponseEncoding::length_prefixed;
    const std::string_view password = settings_.password.view();
    login.auth_response = plugin_ == caching_sha2_plugin ? caching_sha2_scramble(password, nonce_)
                                                         : native_password_scramble(password, nonce_);
    if ((login.capabilities & cap::plugin_auth) != 0) login.auth_plugin_name = plugin_;
    if ((login.capabilities & cap::connect_attrs) != 0) {
        login.attributes = {{"_client_name", "tether"}, {"_client_version", TETHER_VERSION},
                            {"program_name", "tether-monitor"}};
    }
    std::vector<std::byte> payload = codec::encode_login(login);
    const std::uint8_t sequence_id = tls_ ? 2 : 1;
    codec::append_packet(out.to_server, sequence_id, payload);
    wipe(payload);
    wipe(login.auth_response);
    next_sequence_id_ = static_cast<std::uint8_t>(sequence_id + 1);
    phase_ = Phase::authenticating;
}

// A packet of ours in the exchange: the sequence id after the server's.
void MonitorSession::reply(codec::Bytes payload, MonitorOutput& out) {
    next_sequence_id_ = codec::append_packet(out.to_server, next_sequence_id_, payload);
}

void MonitorSession::on_auth_packet(codec::Bytes payload, MonitorOutput& out) {
    if (payload.empty()) return fail({MonitorFailure::Kind::protocol, 0, "empty packet in the login exchange"}, out);
    const auto header = std::to_integer<std::uint8_t>(payload[0]);
    if (header == codec::ok_header) {
        if (!codec::decode_ok(payload, capabilities_).ok()) {
            return fail({MonitorFailure::Kind::protocol, 0, "malformed OK to the login"}, out);
        }
        wipe(nonce_);
        phase_ = Phase::ready;
        out.logged_in = true;
        return;
    }
    if (header == codec::err_header) {
        const auto err = codec::decode_err(payload);
        if (!err.ok()) return fail({MonitorFailure::Kind::login, 0, "the server refused the login"}, out);
        return fail({MonitorFailure::Kind::login, err.value.code, "the server refused the login: " + err_text(err.value)}, out);
    }
    if (header == codec::auth_switch_header) {
        auto request = codec::decode_auth_switch(payload);
        if (!request.ok()) return fail({MonitorFailure::Kind::protocol, 0, "malformed AuthSwitchRequest"}, out);
        plugin_ = request.value.plugin_name;
        const auto nonce = scramble_nonce(request.value.plugin_data);
        nonce_.assign(nonce.begin(), nonce.end());
        const std::string_view password = settings_.password.view();
        std::vector<std::byte> answer;
        if (plugin_ == native_plugin) {
            answer = native_password_scramble(password, nonce_);
        } else if (plugin_ == caching_sha2_plugin) {
            answer = caching_sha2_scramble(password, nonce_);
        } else {
            // A wrong answer of no length: the server refuses it and the handshake ends complete.
            pending_failure_ = MonitorFailure{MonitorFailure::Kind::login, 0,
                                              "the monitor user's auth plugin " + plugin_ +
                                                  " is not supported (use mysql_native_password or caching_sha2_password)"};
            phase_ = Phase::finishing;
            reply({}, out);
            return;
        }
        reply(answer, out);
        wipe(answer);
        return;
    }
    if (header == codec::auth_more_data_header && plugin_ == caching_sha2_plugin) {
        auto more = codec::decode_auth_more_data(payload);
        if (!more.ok()) return fail({MonitorFailure::Kind::protocol, 0, "malformed AuthMoreData"}, out);
        if (awaiting_public_key_) {
            awaiting_public_key_ = false;
            auto encrypted = tls::encrypt_password_for_server(codec::as_text(more.value.data), settings_.password.view(),
                                                              {reinterpret_cast<const std::uint8_t*>(nonce_.data()), nonce_.size()});
            if (!encrypted) {
                pending_failure_ = MonitorFailure{MonitorFailure::Kind::login, 0,
                                                  "cannot use the server's RSA key: " + encrypted.error()};
                phase_ = Phase::finishing;
                const std::byte wrong[1] = {std::byte{0}};
                reply(wrong, out);
                return;
            }
            const auto& bytes = encrypted.value();
            reply({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, out);
            return;
        }
        if (more.value.is_fast_auth_success()) return;  // the OK follows
        if (more.value.is_full_auth_request()) {
            if (tls_) {
                // Inside TLS the password itself goes, as MySQL's own clients send it.
                std::vector<std::byte> clear = with_nul(settings_.password.view());
                reply(clear, out);
                wipe(clear);
                return;
            }
            awaiting_public_key_ = true;
            const std::byte ask[1] = {std::byte{request_public_key}};
            reply(ask, out);
            return;
        }
        return fail({MonitorFailure::Kind::protocol, 0, "unexpected AuthMoreData from caching_sha2_password"}, out);
    }
    fail({MonitorFailure::Kind::protocol, 0, "unexpected packet in the login exchange (header " + std::to_string(header) + ")"},
         out);
}

// tether gives up this login before any secret is sent: a login for the
// reserved user (who does not exist) with an answer of the right shape, so
// the server ends the handshake with its ERR instead of counting an
// interrupted one against tether's address.
void MonitorSession::finish_with_reserved_login(MonitorFailure failure, MonitorOutput& out) {
    pending_failure_ = std::move(failure);
    codec::Login login;
    // The capabilities of the SSLRequest, exactly: a server keeps those and
    // reads the login after TLS by them (attributes expected: an empty block).
    login.capabilities = capabilities_ | (tls_ ? cap::ssl : 0);
    login.max_packet_size = 16 * 1024 * 1024;
    login.character_set = 33;
    login.user = settings_.reserved_user;
    login.auth_response_encoding = (login.capabilities & cap::plugin_auth_lenenc_client_data) != 0
                                       ? codec::AuthResponseEncoding::lenenc
                                       : codec::AuthResponseEncoding::length_prefixed;
    login.auth_response.assign(20, std::byte{0});
    if ((login.capabilities & cap::plugin_auth) != 0) login.auth_plugin_name = std::string(native_plugin);
    const std::uint8_t sequence_id = tls_ ? 2 : 1;
    codec::append_packet(out.to_server, sequence_id, codec::encode_login(login));
    next_sequence_id_ = static_cast<std::uint8_t>(sequence_id + 1);
    phase_ = Phase::finishing;
}

void MonitorSession::on_finishing_packet(codec::Bytes payload, MonitorOutput& out) {
    MonitorFailure failure = pending_failure_.value_or(MonitorFailure{MonitorFailure::Kind::login, 0, "login abandoned"});
    if (payload.empty() || ++finishing_rounds_ > max_finishing_rounds) return fail(std::move(failure), out);
    const auto header = std::to_integer<std::uint8_t>(payload[0]);
    if (header == codec::err_header) {
        const auto err = codec::decode_err(payload);
        if (err.ok() && failure.error_code == 0 && failure.kind == MonitorFailure::Kind::login) {
            failure.error_code = err.value.code;
        }
        return fail(std::move(failure), out);
    }
    if (header == codec::ok_header) {
        // Let in after all (a reserved user that exists): leave at once, cleanly.
        const std::byte quit[1] = {std::byte{com_quit}};
        codec::append_packet(out.to_server, 0, quit);
        return fail(std::move(failure), out);
    }
    if (header == codec::auth_switch_header) {
        const std::vector<std::byte> wrong(20, std::byte{0});
        reply(wrong, out);
        return;
    }
    if (header == codec::auth_more_data_header) {
        // A full-auth request: an empty password inside TLS, a byte no RSA key decrypts outside it.
        const std::byte wrong[1] = {std::byte{0}};
        reply(wrong, out);
        return;
    }
    fail(std::move(failure), out);
}

void MonitorSession::send_query(std::string_view sql, MonitorOutput& out) {
    assert(phase_ == Phase::ready && "one query at a time, once logged in");
    if (phase_ != Phase::ready) return;
    std::vector<std::byte> payload;
    payload.reserve(1 + sql.size());
    payload.push_back(std::byte{com_query});
    const auto text = codec::as_bytes(sql);
    payload.insert(payload.end(), text.begin(), text.end());
    codec::append_packet(out.to_server, 0, payload);
    next_sequence_id_ = 1;
    phase_ = Phase::querying;
    answer_ = Answer::first;
    columns_ = 0;
    answer_bytes_ = 0;
    answer_too_large_ = false;
    result_ = QueryResult{};
}

void MonitorSession::on_answer_packet(codec::Bytes payload, MonitorOutput& out) {
    if (payload.empty()) return fail({MonitorFailure::Kind::protocol, 0, "empty packet in a query's answer"}, out);
    const auto header = std::to_integer<std::uint8_t>(payload[0]);
    if (header == codec::err_header && answer_ != Answer::columns) {
        const auto err = codec::decode_err(payload);
        if (!err.ok()) return fail({MonitorFailure::Kind::protocol, 0, "malformed ERR to a query"}, out);
        QueryResult result;
        result.error_code = err.value.code;
        result.error = std::string(err.value.message);
        return deliver(std::move(result), out);
    }
    switch (answer_) {
        case Answer::first: {
            if (header == codec::ok_header) return on_answer_end(payload, out);
            if (header == codec::local_infile_header) {
                return fail({MonitorFailure::Kind::protocol, 0, "the server asked for a LOCAL INFILE"}, out);
            }
            const auto count = codec::decode_column_count(payload);
            if (!count.ok() || count.value == 0 || count.value > max_columns) {
                return fail({MonitorFailure::Kind::protocol, 0, "malformed column count"}, out);
            }
            columns_ = static_cast<std::size_t>(count.value);
            result_.rows.clear();
            answer_ = Answer::columns;
            definitions_seen_ = 0;
            return;
        }
        case Answer::columns:
            if (!codec::decode_column_definition(payload).ok()) {
                return fail({MonitorFailure::Kind::protocol, 0, "malformed column definition"}, out);
            }
            if (++definitions_seen_ == columns_) answer_ = deprecate_eof() ? Answer::rows : Answer::columns_eof;
            return;
        case Answer::columns_eof:
            if (!codec::is_eof_packet(payload)) {
                return fail({MonitorFailure::Kind::protocol, 0, "no EOF after the column definitions"}, out);
            }
            answer_ = Answer::rows;
            return;
        case Answer::rows: break;
    }
    if (codec::ends_result_set(payload, deprecate_eof())) return on_answer_end(payload, out);
    answer_bytes_ += payload.size();
    if (answer_too_large_) return;
    if (answer_bytes_ > settings_.max_result_bytes || result_.rows.size() >= settings_.max_result_rows) {
        // Read to its end and dropped: the session stays in step with the server.
        answer_too_large_ = true;
        Rows().swap(result_.rows);
        return;
    }
    const auto row = codec::decode_text_row(payload, columns_);
    if (!row.ok()) return fail({MonitorFailure::Kind::protocol, 0, "malformed row: " + std::string(row.error)}, out);
    Row values;
    values.reserve(row.value.size());
    for (const auto& value : row.value) {
        values.push_back(value ? std::optional<std::string>(std::string(*value)) : std::nullopt);
    }
    result_.rows.push_back(std::move(values));
}

// An OK (a statement's answer, or the end of rows under DEPRECATE_EOF) or an
// EOF: the answer is complete unless the server says more results follow.
void MonitorSession::on_answer_end(codec::Bytes payload, MonitorOutput& out) {
    std::uint16_t status_flags = 0;
    if (std::to_integer<std::uint8_t>(payload[0]) == codec::ok_header || deprecate_eof()) {
        const auto ok = codec::decode_ok(payload, capabilities_);
        if (!ok.ok()) return fail({MonitorFailure::Kind::protocol, 0, "malformed OK in a query's answer"}, out);
        status_flags = ok.value.status_flags;
    } else {
        const auto eof = codec::decode_eof(payload);
        if (!eof.ok()) return fail({MonitorFailure::Kind::protocol, 0, "malformed EOF in a query's answer"}, out);
        status_flags = eof.value.status_flags;
    }
    if ((status_flags & codec::status::more_results_exists) != 0) {
        answer_ = Answer::first;  // the next result's rows join these
        return;
    }
    QueryResult result = std::move(result_);
    result_ = QueryResult{};
    if (answer_too_large_) {
        result = QueryResult{};
        result.error = "the answer is larger than the monitor keeps (" + std::to_string(settings_.max_result_bytes) +
                       " bytes or " + std::to_string(settings_.max_result_rows) + " rows)";
    } else {
        result.ok = true;
    }
    deliver(std::move(result), out);
}

void MonitorSession::deliver(QueryResult result, MonitorOutput& out) {
    phase_ = Phase::ready;
    out.results.push_back(std::move(result));
}

void MonitorSession::quit(MonitorOutput& out) {
    if (phase_ == Phase::closed) return;
    if (phase_ == Phase::ready) {
        const std::byte quit[1] = {std::byte{com_quit}};
        codec::append_packet(out.to_server, 0, quit);
    }
    phase_ = Phase::closed;
    out.close = true;
    wipe(input_);
}

void MonitorSession::fail(MonitorFailure failure, MonitorOutput& out) {
    phase_ = Phase::closed;
    pending_failure_.reset();
    if (!out.failure) out.failure = std::move(failure);
    out.close = true;
    wipe(input_);
    wipe(nonce_);
}

}  // namespace tether::monitor

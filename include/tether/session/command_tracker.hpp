// Follows every command-phase command to the end of its response, so the session
// knows at any moment whether a command is in flight and whether a transaction is open.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tether/codec/capabilities.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/codec/packet_scanner.hpp"
#include "tether/codec/response.hpp"
#include "tether/session/desync_reason.hpp"
#include "tether/session/growable_ring.hpp"
#include "tether/session/statement_trace.hpp"

namespace tether::session {

using Clock = std::chrono::steady_clock;

// Reads only packet headers and the first bytes of each packet, in place, as
// the relay passes the chunks through. It is fed both directions in the order
// tether reads them; a response can only arrive after its command, so that
// order is causal. Commands may be pipelined (Connector/J 3 sends PREPARE and
// EXECUTE together; the npm `mariadb` connector sends everything it is given
// without waiting): each waits in a queue that lives inline for the first 16
// and grows on the heap up to max_in_flight. A client with more commands in
// flight than that loses sync (DesyncReason::pipeline_limit).
//
// It also follows the session's default database: COM_INIT_DB's argument once
// its OK arrives, and the SESSION_TRACK_SCHEMA entry of any OK's session state
// (`USE db` in a COM_QUERY, when CLIENT_SESSION_TRACK was agreed).
//
// When a packet makes no sense for the command in flight, the tracker stops
// (synced() turns false) and never resumes: the session falls back to plain
// relaying and makes no idle decisions from then on.
class CommandTracker {
public:
    // The capabilities both sides agreed on (the client's login flags, which
    // are a subset of the greeting tether showed).
    // With `trace_statements`, it also keeps the latest statement (statement_trace.hpp).
    explicit CommandTracker(codec::Capabilities capabilities = 0, bool trace_statements = false)
        : capabilities_(capabilities), trace_statements_(trace_statements) {}

    void on_client_bytes(codec::Bytes chunk, Clock::time_point now);
    void on_server_bytes(codec::Bytes chunk);

    [[nodiscard]] bool synced() const { return synced_; }
    [[nodiscard]] codec::Capabilities capabilities() const { return capabilities_; }
    // No command waiting for (the rest of) its response.
    [[nodiscard]] bool idle() const { return queue_.empty(); }
    [[nodiscard]] bool in_transaction() const { return in_transaction_; }
    [[nodiscard]] bool quit_sent() const { return quit_sent_; }
    [[nodiscard]] Clock::time_point last_command_at() const { return last_command_at_; }
    [[nodiscard]] std::uint64_t commands() const { return commands_; }
    // The latest statement (empty unless statements are traced).
    [[nodiscard]] const StatementTrace& statements() const { return statements_; }
    [[nodiscard]] bool traces_statements() const { return trace_statements_; }
    void set_in_transaction(bool v) { in_transaction_ = v; }
    void set_last_command_at(Clock::time_point t) { last_command_at_ = t; }

    // True once the server accepted a COM_CHANGE_USER, until take_changed_user().
    [[nodiscard]] bool user_changed() const { return change_user_seen_; }
    // The login the accepted COM_CHANGE_USER carried (user, database,
    // attributes); empty when the packet was over the capture limit or did not
    // decode. Clears user_changed().
    std::optional<codec::Login> take_changed_user();
    // The command at the head of the queue is a COM_CHANGE_USER: the server's
    // next packets are its authentication exchange and its OK or ERR.
    [[nodiscard]] bool change_user_in_flight() const {
        return !queue_.empty() && queue_.front().stage == Stage::change_user;
    }
    // A COM_CHANGE_USER arrived while other commands were in flight (no real
    // driver does this): its reply cannot be held for admission.
    [[nodiscard]] bool change_user_pipelined() const { return change_user_pipelined_; }
    // Stop tracking for good (the session can no longer be followed).
    void abandon(const char* why) { lose_sync(DesyncReason::abandoned, why); }
    // What went wrong, in words for the log; nullptr while synced.
    [[nodiscard]] const char* desync_reason() const { return desync_reason_; }
    // The same as a fixed category, for the metric label.
    [[nodiscard]] DesyncReason desync_category() const { return desync_category_; }

    // The default database the session moved to since its login or its last
    // COM_CHANGE_USER (at most max_database_bytes of it); nullptr while it has
    // not moved, so the login's database stands.
    [[nodiscard]] const std::string* database() const {
        return database_ && database_->moved ? &database_->current : nullptr;
    }

    // Commands in flight at once before the session loses sync: far beyond any
    // driver's pipeline (the npm `mariadb` connector's Promise.all of hundreds),
    // and 24 KiB of queue at most.
    static constexpr std::size_t max_in_flight = 4096;
    // A database name is at most 64 characters, 4 bytes each in utf8mb4.
    static constexpr std::size_t max_database_bytes = 256;

private:
    enum class Stage : std::uint8_t {
        first_response,      // OK, ERR, EOF, LOCAL INFILE request or a result set's column count
        column_definitions,  // `columns_left` column definition packets
        columns_eof,         // the EOF after column definitions (no DEPRECATE_EOF)
        rows,                // rows until EOF / OK(0xFE) / ERR
        param_definitions,   // COM_STMT_PREPARE: parameter definitions
        params_eof,
        prepare_columns,     // COM_STMT_PREPARE: column definitions
        prepare_columns_eof,
        field_list,          // COM_FIELD_LIST: column definitions until EOF
        single_packet,       // COM_STATISTICS: one string packet
        infile_data,         // LOCAL INFILE: the client sends data until an empty packet
        change_user,         // COM_CHANGE_USER: an authentication exchange
    };

    struct InFlight {
        std::uint8_t command = 0;
        Stage stage = Stage::first_response;
        // Both are at most 0xFFFF on the wire (column counts are capped lower by servers).
        std::uint16_t columns_left = 0;
        std::uint16_t params_left = 0;
    };

    void on_client_packet(const codec::PacketScanner::Event& event, Clock::time_point now);
    void on_server_packet(const codec::PacketScanner::Event& event);
    void after_column_definitions(InFlight& head);
    void after_prepare_params(InFlight& head);
    void finish_head();
    void complete_head();
    void apply_status(std::uint16_t status_flags);
    void follow_ok_session_state(const codec::OkPacket& ok, const codec::PacketScanner::Event& event);
    void apply_session_state(std::string_view session_state);
    void start_init_db(const codec::PacketScanner::Event& event);
    void trace_query(const codec::PacketScanner::Event& event);
    void trace_prepare(const codec::PacketScanner::Event& event);
    void trace_execute(const codec::PacketScanner::Event& event);
    void trace_close(const codec::PacketScanner::Event& event);
    void set_database(std::string_view name);
    struct Database;
    Database& database_state();
    bool push(std::uint8_t command, Stage stage);
    void lose_sync(DesyncReason category, const char* why);
    InFlight& head() { return queue_.front(); }
    [[nodiscard]] bool deprecate_eof() const;

    static constexpr std::size_t inline_in_flight = 16;
    static constexpr std::size_t change_user_capture_limit = 64 * 1024;
    // An OK whose session state does not fit the scanner's peek is read whole
    // up to this size (GTID sets make them long); a longer one is not read.
    static constexpr std::size_t ok_capture_limit = 4096;

    codec::Capabilities capabilities_;
    codec::PacketScanner client_scanner_;
    codec::PacketScanner server_scanner_;
    GrowableRing<InFlight, inline_in_flight, max_in_flight> queue_;
    bool synced_ = true;
    bool in_transaction_ = false;
    bool quit_sent_ = false;
    bool current_packet_incomplete_ = false;
    bool finish_at_packet_end_ = false;
    DesyncReason desync_category_ = DesyncReason::abandoned;
    Clock::time_point last_command_at_{};
    std::uint64_t commands_ = 0;
    const char* desync_reason_ = nullptr;

    bool trace_statements_ = false;
    enum class StatementCapture : std::uint8_t { none, query, prepare };
    StatementCapture capturing_statement_ = StatementCapture::none;
    StatementTrace statements_;

    // The default database and what following it needs, on the heap from the
    // first COM_INIT_DB or long OK on: most sessions never move, and an idle
    // session stays small. COM_INIT_DB's name waits for its OK; when several are
    // pipelined only the latest one's name is kept, and its OK decides.
    struct Database {
        std::string current;
        bool moved = false;                 // `current` replaces the login's database
        std::vector<std::byte> init_db_name;  // of the latest COM_INIT_DB in flight
        std::vector<std::byte> ok_packet;     // an OK read whole for its session state (ok_capture_limit)
        std::uint16_t init_db_in_flight = 0;
        bool init_db_name_complete = false;   // init_db_name is the whole name
        bool capturing_init_db = false;
        bool capturing_ok = false;
    };
    std::unique_ptr<Database> database_;

    // COM_CHANGE_USER capture: the packet, then the login it carries once the
    // server's OK confirms it. The packet and the login's auth response (the
    // scramble) are zeroed as soon as the login is decoded.
    std::vector<std::byte> change_user_packet_;
    bool capturing_change_user_ = false;
    std::unique_ptr<codec::Login> pending_change_user_;  // heap: rare, and idle sessions stay small
    std::unique_ptr<codec::Login> changed_user_;
    bool change_user_seen_ = false;
    bool change_user_pipelined_ = false;

public:
    // For tests: bytes of a COM_CHANGE_USER still held by the capture.
    [[nodiscard]] std::size_t change_user_capture_capacity() const { return change_user_packet_.capacity(); }
};

}  // namespace tether::session

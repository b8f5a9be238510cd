// Command-phase response tracking (see command_tracker.hpp).
#include "tether/session/command_tracker.hpp"

#include <string.h>  // explicit_bzero

#include "tether/codec/command.hpp"
#include "tether/codec/prepared_statement.hpp"
#include "tether/codec/response.hpp"
#include "tether/codec/wire.hpp"

namespace tether::session {

namespace {

using codec::Command;

std::uint8_t first_byte(codec::Bytes prefix) { return std::to_integer<std::uint8_t>(prefix[0]); }

// Zeroes then frees: a scramble must not linger in freed memory either.
// explicit_bzero, because a plain fill before a free may be optimized away.
void wipe(std::vector<std::byte>& bytes) {
    if (!bytes.empty()) explicit_bzero(bytes.data(), bytes.size());
    std::vector<std::byte>().swap(bytes);
}

// Decodes the captured COM_CHANGE_USER, then wipes the capture and the
// decoded auth response: only the identity is kept.
std::unique_ptr<codec::Login> decode_and_wipe(std::vector<std::byte>& packet, codec::Capabilities capabilities) {
    std::unique_ptr<codec::Login> out;
    auto login = codec::decode_change_user(packet, capabilities);
    if (login.ok()) {
        wipe(login.value.auth_response);
        out = std::make_unique<codec::Login>(std::move(login.value));
    }
    wipe(packet);
    return out;
}

}  // namespace

bool CommandTracker::deprecate_eof() const { return (capabilities_ & codec::cap::deprecate_eof) != 0; }

void CommandTracker::on_client_bytes(codec::Bytes chunk, Clock::time_point now) {
    codec::PacketScanner::Event event;
    while (synced_ && client_scanner_.next(chunk, event)) on_client_packet(event, now);
}

void CommandTracker::on_server_bytes(codec::Bytes chunk) {
    codec::PacketScanner::Event event;
    while (synced_ && server_scanner_.next(chunk, event)) {
        if (finish_at_packet_end_) {  // the previous packet ended its command, and is now complete
            finish_at_packet_end_ = false;
            finish_head();
        }
        on_server_packet(event);
    }
    if (finish_at_packet_end_ && server_scanner_.at_boundary()) {
        finish_at_packet_end_ = false;
        finish_head();
    }
}

// A command is done when the last byte of its terminating packet has passed,
// not when the packet's first bytes have been read: an idle decision must never
// cut a response short.
void CommandTracker::complete_head() {
    if (current_packet_incomplete_) {
        finish_at_packet_end_ = true;
    } else {
        finish_head();
    }
}

std::optional<codec::Login> CommandTracker::take_changed_user() {
    change_user_seen_ = false;
    if (!changed_user_) return std::nullopt;
    std::optional<codec::Login> login(std::move(*changed_user_));
    changed_user_.reset();
    return login;
}

void CommandTracker::lose_sync(DesyncReason category, const char* why) {
    synced_ = false;
    desync_reason_ = why;
    desync_category_ = category;
}

bool CommandTracker::push(std::uint8_t command, Stage stage) {
    if (!queue_.push(InFlight{command, stage, 0, 0})) {
        lose_sync(DesyncReason::pipeline_limit, "more commands in flight than the tracker keeps (4096)");
        return false;
    }
    return true;
}

void CommandTracker::finish_head() {
    if (head().command == static_cast<std::uint8_t>(Command::init_db)) --database_->init_db_in_flight;
    queue_.pop();
}

CommandTracker::Database& CommandTracker::database_state() {
    if (!database_) database_ = std::make_unique<Database>();
    return *database_;
}

void CommandTracker::set_database(std::string_view name) {
    Database& d = database_state();
    d.current.assign(name.substr(0, max_database_bytes));
    d.moved = true;
}

// COM_INIT_DB: keep the name (bounded) until the OK says the server took it.
void CommandTracker::start_init_db(const codec::PacketScanner::Event& event) {
    Database& d = database_state();
    ++d.init_db_in_flight;
    const std::size_t name_length = event.header.payload_length - 1;
    d.init_db_name.assign(event.prefix.begin() + 1, event.prefix.end());
    d.init_db_name_complete = true;
    if (name_length + 1 <= event.prefix.size()) return;
    // A longer name than any server accepts: its ERR will end the command.
    d.init_db_name_complete = name_length <= max_database_bytes;
    if (d.init_db_name_complete) d.capturing_init_db = client_scanner_.capture_rest(&d.init_db_name, 1 + max_database_bytes);
}

// The OK's session state may name a new default database. When the scanner's
// peek cut the OK short, the rest is captured and read at the packet's end.
void CommandTracker::follow_ok_session_state(const codec::OkPacket& ok, const codec::PacketScanner::Event& event) {
    if ((capabilities_ & codec::cap::session_track) == 0 || (ok.status_flags & codec::status::session_state_changed) == 0) {
        return;
    }
    if (event.header.payload_length <= event.prefix.size()) return apply_session_state(ok.session_state);
    if (event.header.payload_length > ok_capture_limit) return;
    Database& d = database_state();
    d.ok_packet.assign(event.prefix.begin(), event.prefix.end());
    d.capturing_ok = server_scanner_.capture_rest(&d.ok_packet, ok_capture_limit);
}

void CommandTracker::apply_session_state(std::string_view session_state) {
    if (session_state.empty()) return;
    // A state that does not parse says nothing about the schema; the status
    // flags, which the tracker lives on, were already read.
    auto schema = codec::decode_session_schema(session_state);
    if (schema.ok() && schema.value) set_database(*schema.value);
}

void CommandTracker::apply_status(std::uint16_t status_flags) {
    in_transaction_ = (status_flags & codec::status::in_trans) != 0;
}

// COM_QUERY's text follows the command byte, after the query attributes when
// the client agreed to send them (MySQL 8.0.23+): a count of 0 is two bytes to
// skip; with attributes the text sits behind their values, not read here.
void CommandTracker::trace_query(const codec::PacketScanner::Event& event) {
    std::size_t skip = 1;
    if ((capabilities_ & codec::cap::query_attributes) != 0) {
        codec::WireReader reader(event.prefix.subspan(1));
        const auto count = reader.lenenc_int();
        const auto sets = reader.lenenc_int();
        if (!count || !sets || *count != 0) return statements_.unreadable_query();
        skip = 1 + reader.position();
    }
    if (event.header.payload_length < skip) return statements_.unreadable_query();
    std::vector<std::byte>& text = statements_.start_query(event.prefix.subspan(skip), event.header.payload_length - static_cast<std::uint32_t>(skip));
    if (event.header.payload_length > event.prefix.size()) {
        client_scanner_.capture_prefix(&text, StatementTrace::max_statement_bytes);
        capturing_statement_ = StatementCapture::query;
    }
}

void CommandTracker::trace_prepare(const codec::PacketScanner::Event& event) {
    std::vector<std::byte>& text = statements_.start_prepare(event.prefix.subspan(1), event.header.payload_length - 1);
    if (event.header.payload_length > event.prefix.size()) {
        client_scanner_.capture_prefix(&text, StatementTrace::max_statement_bytes);
        capturing_statement_ = StatementCapture::prepare;
    } else {
        statements_.prepare_text_complete();
    }
}

// COM_STMT_EXECUTE and COM_STMT_BULK_EXECUTE: the statement id follows the command byte.
void CommandTracker::trace_execute(const codec::PacketScanner::Event& event) {
    codec::WireReader reader(event.prefix.subspan(1));
    if (const auto id = reader.u32()) statements_.executed(*id);
}

void CommandTracker::trace_close(const codec::PacketScanner::Event& event) {
    codec::WireReader reader(event.prefix.subspan(1));
    if (const auto id = reader.u32()) statements_.closed(*id);
}

void CommandTracker::on_client_packet(const codec::PacketScanner::Event& event, Clock::time_point now) {
    using Kind = codec::PacketScanner::EventKind;
    if (event.kind == Kind::end && capturing_statement_ != StatementCapture::none) {
        if (capturing_statement_ == StatementCapture::prepare) statements_.prepare_text_complete();
        capturing_statement_ = StatementCapture::none;
        return;
    }
    if (event.kind == Kind::end && database_ && database_->capturing_init_db) {
        database_->capturing_init_db = false;  // init_db_name holds the whole name now
        return;
    }
    if (event.kind == Kind::end) {
        pending_change_user_ = decode_and_wipe(change_user_packet_, capabilities_);
        capturing_change_user_ = false;
        return;
    }
    if (event.continuation) return;  // the rest of a command larger than 16 MiB
    if (!queue_.empty()) {
        InFlight& h = head();
        if (h.stage == Stage::infile_data) {
            // The file's contents, then an empty packet that ends them.
            if (event.header.payload_length == 0) h.stage = Stage::first_response;
            return;
        }
        if (h.stage == Stage::change_user) return;  // answers in the authentication exchange
    }
    if (event.header.sequence_id != 0) return lose_sync(DesyncReason::client_packet, "client command does not start at sequence 0");
    if (event.header.payload_length == 0) return lose_sync(DesyncReason::client_packet, "empty client command");

    const std::uint8_t command = first_byte(event.prefix);
    last_command_at_ = now;
    ++commands_;
    switch (static_cast<Command>(command)) {
        case Command::quit:
            quit_sent_ = true;
            return;
        case Command::stmt_close:
            if (trace_statements_) trace_close(event);
            return;  // no response
        case Command::stmt_send_long_data:
            return;  // no response
        case Command::statistics:
            push(command, Stage::single_packet);
            return;
        case Command::field_list:
            push(command, Stage::field_list);
            return;
        case Command::stmt_fetch:
            push(command, Stage::rows);
            return;
        case Command::change_user: {
            if (!queue_.empty()) change_user_pipelined_ = true;
            if (!push(command, Stage::change_user)) return;
            pending_change_user_.reset();
            // Reserved whole up front: a reallocation while capturing would
            // leave a copy of the scramble behind in freed memory.
            if (event.header.payload_length <= change_user_capture_limit) change_user_packet_.reserve(event.header.payload_length);
            change_user_packet_.assign(event.prefix.begin(), event.prefix.end());
            if (event.header.payload_length <= event.prefix.size()) {
                pending_change_user_ = decode_and_wipe(change_user_packet_, capabilities_);
            } else {
                capturing_change_user_ = client_scanner_.capture_rest(&change_user_packet_, change_user_capture_limit);
            }
            return;
        }
        case Command::init_db:
            if (push(command, Stage::first_response)) start_init_db(event);
            return;
        case Command::query:
            if (push(command, Stage::first_response) && trace_statements_) trace_query(event);
            return;
        case Command::stmt_prepare:
            if (push(command, Stage::first_response) && trace_statements_) trace_prepare(event);
            return;
        case Command::stmt_execute:
        case Command::mariadb_stmt_bulk_execute:
            if (push(command, Stage::first_response) && trace_statements_) trace_execute(event);
            return;
        case Command::reset_connection:
            if (push(command, Stage::first_response)) statements_.forget_prepared();
            return;
        case Command::sleep:
        case Command::create_db:
        case Command::drop_db:
        case Command::refresh:
        case Command::shutdown:
        case Command::process_info:
        case Command::connect:
        case Command::process_kill:
        case Command::debug:
        case Command::ping:
        case Command::time:
        case Command::delayed_insert:
        case Command::stmt_reset:
        case Command::set_option:
            push(command, Stage::first_response);
            return;
        default:
            // Replication streams, COM_MULTI, clone: responses we cannot follow.
            return lose_sync(DesyncReason::unsupported_command, "unsupported command");
    }
}

void CommandTracker::after_column_definitions(InFlight& h) {
    h.stage = deprecate_eof() ? Stage::rows : Stage::columns_eof;
}

void CommandTracker::after_prepare_params(InFlight& h) {
    if (h.columns_left == 0) return finish_head();
    h.stage = Stage::prepare_columns;
}

void CommandTracker::on_server_packet(const codec::PacketScanner::Event& event) {
    if (event.kind == codec::PacketScanner::EventKind::end && database_ && database_->capturing_ok) {
        database_->capturing_ok = false;
        std::vector<std::byte>& packet = database_->ok_packet;
        auto ok = codec::decode_ok(packet, capabilities_);
        if (ok.ok()) apply_session_state(ok.value.session_state);
        // Keep a small buffer for the next one; give back what a GTID set took.
        if (packet.capacity() > 512) std::vector<std::byte>().swap(packet);
        return;
    }
    if (event.kind != codec::PacketScanner::EventKind::start || event.continuation) return;
    const codec::Bytes prefix = event.prefix;
    const std::uint32_t length = event.header.payload_length;
    if (length == 0) return lose_sync(DesyncReason::server_packet, "empty server packet");
    const std::uint8_t b = first_byte(prefix);
    current_packet_incomplete_ = length > prefix.size();
    const bool is_err = b == codec::err_header;
    const bool is_eof = b == codec::eof_header && length < 9;
    // Under DEPRECATE_EOF a result set ends with an OK headed 0xFE; a row can
    // only start with 0xFE if it is at least 16 MiB long.
    const bool is_terminator = b == codec::eof_header && (deprecate_eof() ? length < codec::max_physical_payload : length < 9);

    if (queue_.empty()) {
        // MySQL 8 sends an ERR before it closes an idle connection (wait_timeout).
        if (is_err) return;
        return lose_sync(DesyncReason::server_packet, "server packet with no command in flight");
    }
    InFlight& h = head();
    if (is_err) {
        auto err = codec::decode_err(prefix);
        if (err.ok() && err.value.is_progress_report()) return;
        if (h.stage == Stage::change_user) pending_change_user_.reset();
        if (h.command == static_cast<std::uint8_t>(Command::stmt_prepare) && h.stage == Stage::first_response) {
            statements_.prepare_answered(std::nullopt);
        }
        return complete_head();
    }
    switch (h.stage) {
        case Stage::first_response: {
            if (b == codec::ok_header) {
                if (h.command == static_cast<std::uint8_t>(Command::stmt_prepare)) {
                    auto prepared = codec::decode_stmt_prepare_ok(prefix);
                    if (!prepared.ok()) return lose_sync(DesyncReason::server_packet, "short COM_STMT_PREPARE response");
                    statements_.prepare_answered(prepared.value.statement_id);
                    h.columns_left = prepared.value.columns;
                    h.params_left = prepared.value.params;
                    if (h.params_left > 0) {
                        h.stage = Stage::param_definitions;
                        return;
                    }
                    return after_prepare_params(h);
                }
                auto ok = codec::decode_ok(prefix, capabilities_);
                if (!ok.ok()) return lose_sync(DesyncReason::server_packet, "malformed OK packet");
                apply_status(ok.value.status_flags);
                if (h.command == static_cast<std::uint8_t>(Command::init_db) && database_->init_db_in_flight == 1 &&
                    database_->init_db_name_complete) {
                    set_database(codec::as_text(database_->init_db_name));
                }
                follow_ok_session_state(ok.value, event);
                if ((ok.value.status_flags & codec::status::more_results_exists) == 0) complete_head();
                return;
            }
            if (is_eof) {  // COM_SET_OPTION, COM_DEBUG, COM_SHUTDOWN answer with EOF on some servers
                auto eof = codec::decode_eof(prefix);
                if (eof.ok()) apply_status(eof.value.status_flags);
                return complete_head();
            }
            if (b == codec::local_infile_header) {
                if (h.command != static_cast<std::uint8_t>(Command::query)) return lose_sync(DesyncReason::server_packet, "LOCAL INFILE request outside COM_QUERY");
                h.stage = Stage::infile_data;
                return;
            }
            codec::WireReader reader(prefix);
            auto columns = reader.lenenc_int();
            if (!columns || *columns == 0 || *columns > 0xFFFF) return lose_sync(DesyncReason::server_packet, "bad column count");
            h.columns_left = static_cast<std::uint16_t>(*columns);
            h.stage = Stage::column_definitions;
            return;
        }
        case Stage::column_definitions:
            if (--h.columns_left == 0) after_column_definitions(h);
            return;
        case Stage::columns_eof: {
            if (!is_eof) return lose_sync(DesyncReason::server_packet, "expected EOF after column definitions");
            auto eof = codec::decode_eof(prefix);
            const std::uint16_t flags = eof.ok() ? eof.value.status_flags : 0;
            apply_status(flags);
            // COM_STMT_EXECUTE with a cursor: rows come later, through COM_STMT_FETCH.
            if ((flags & codec::status::cursor_exists) != 0) return complete_head();
            h.stage = Stage::rows;
            return;
        }
        case Stage::rows: {
            if (!is_terminator) return;  // a row
            std::uint16_t flags = 0;
            if (deprecate_eof()) {
                auto ok = codec::decode_ok(prefix, capabilities_);
                if (!ok.ok()) return lose_sync(DesyncReason::server_packet, "malformed OK at the end of a result set");
                flags = ok.value.status_flags;
                follow_ok_session_state(ok.value, event);
            } else {
                auto eof = codec::decode_eof(prefix);
                flags = eof.ok() ? eof.value.status_flags : 0;
            }
            apply_status(flags);
            const bool more = (flags & codec::status::more_results_exists) != 0 &&
                              h.command != static_cast<std::uint8_t>(Command::stmt_fetch);
            if (more) {
                h.stage = Stage::first_response;
                return;
            }
            return complete_head();
        }
        case Stage::param_definitions:
            if (--h.params_left == 0) {
                if (deprecate_eof()) return after_prepare_params(h);
                h.stage = Stage::params_eof;
            }
            return;
        case Stage::params_eof:
            if (!is_eof) return lose_sync(DesyncReason::server_packet, "expected EOF after parameter definitions");
            return after_prepare_params(h);
        case Stage::prepare_columns:
            if (--h.columns_left == 0) {
                if (deprecate_eof()) return complete_head();
                h.stage = Stage::prepare_columns_eof;
            }
            return;
        case Stage::prepare_columns_eof:
            if (!is_eof) return lose_sync(DesyncReason::server_packet, "expected EOF after prepared statement columns");
            return complete_head();
        case Stage::field_list:
            if (is_terminator) {
                if (is_eof) {
                    auto eof = codec::decode_eof(prefix);
                    if (eof.ok()) apply_status(eof.value.status_flags);
                }
                return complete_head();
            }
            return;
        case Stage::single_packet:
            return complete_head();
        case Stage::infile_data:
            return lose_sync(DesyncReason::server_packet, "server packet during LOCAL INFILE upload");
        case Stage::change_user:
            if (b == codec::ok_header) {
                auto ok = codec::decode_ok(prefix, capabilities_);
                if (database_) database_->moved = false;  // the new login's database stands, unless the OK names another
                if (ok.ok()) {
                    apply_status(ok.value.status_flags);
                    follow_ok_session_state(ok.value, event);
                }
                change_user_seen_ = true;
                statements_.forget_prepared();  // the server dropped them with the old session
                changed_user_ = std::move(pending_change_user_);
                pending_change_user_.reset();
                return complete_head();
            }
            return;  // AuthSwitchRequest or AuthMoreData: the client answers
    }
}

}  // namespace tether::session

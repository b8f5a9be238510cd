// Follows every command-phase command to the end of its response, so the session
// knows at any moment whether a command is in flight and whether a transaction is open.
#pragma once

#include <array>
#include <memory>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "tether/codec/capabilities.hpp"
#include "tether/codec/handshake.hpp"
#include "tether/codec/packet_scanner.hpp"

namespace tether::session {

using Clock = std::chrono::steady_clock;

// Reads only packet headers and the first bytes of each packet, in place, as
// the relay passes the chunks through. It is fed both directions in the order
// tether reads them; a response can only arrive after its command, so that
// order is causal. Commands may be pipelined (Connector/J 3 sends PREPARE and
// EXECUTE together): each waits in a small fixed queue.
//
// When a packet makes no sense for the command in flight, the tracker stops
// (synced() turns false) and never resumes: the session falls back to plain
// relaying and makes no idle decisions from then on.
class CommandTracker {
public:
    // The capabilities both sides agreed on (the client's login flags, which
    // are a subset of the greeting tether showed).
    explicit CommandTracker(codec::Capabilities capabilities = 0) : capabilities_(capabilities) {}

    void on_client_bytes(codec::Bytes chunk, Clock::time_point now);
    void on_server_bytes(codec::Bytes chunk);

    [[nodiscard]] bool synced() const { return synced_; }
    [[nodiscard]] codec::Capabilities capabilities() const { return capabilities_; }
    // No command waiting for (the rest of) its response.
    [[nodiscard]] bool idle() const { return queue_length_ == 0; }
    [[nodiscard]] bool in_transaction() const { return in_transaction_; }
    [[nodiscard]] bool quit_sent() const { return quit_sent_; }
    [[nodiscard]] Clock::time_point last_command_at() const { return last_command_at_; }
    [[nodiscard]] std::uint64_t commands() const { return commands_; }
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
        return queue_length_ > 0 && queue_[queue_head_].stage == Stage::change_user;
    }
    // A COM_CHANGE_USER arrived while other commands were in flight (no real
    // driver does this): its reply cannot be held for admission.
    [[nodiscard]] bool change_user_pipelined() const { return change_user_pipelined_; }
    // Stop tracking for good (the session can no longer be followed).
    void abandon(const char* why) { lose_sync(why); }
    [[nodiscard]] const char* desync_reason() const { return desync_reason_; }

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
    bool push(std::uint8_t command, Stage stage);
    void lose_sync(const char* why);
    InFlight& head() { return queue_[queue_head_]; }
    [[nodiscard]] bool deprecate_eof() const;

    static constexpr std::size_t max_in_flight = 16;
    static constexpr std::size_t change_user_capture_limit = 64 * 1024;

    codec::Capabilities capabilities_;
    codec::PacketScanner client_scanner_;
    codec::PacketScanner server_scanner_;
    std::array<InFlight, max_in_flight> queue_{};
    std::size_t queue_head_ = 0;
    std::size_t queue_length_ = 0;
    bool synced_ = true;
    bool in_transaction_ = false;
    bool quit_sent_ = false;
    bool current_packet_incomplete_ = false;
    bool finish_at_packet_end_ = false;
    Clock::time_point last_command_at_{};
    std::uint64_t commands_ = 0;
    const char* desync_reason_ = nullptr;

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

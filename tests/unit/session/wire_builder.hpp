// Builds protocol byte streams for synthetic session and tracker tests (on top of the codec's writers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tether/codec/capabilities.hpp"
#include "tether/codec/handshake.hpp"

namespace tether::session::test {

using ByteVec = std::vector<std::byte>;

ByteVec bytes_of(std::string_view text);

// Appends packets with consecutive sequence ids (a logical packet larger than
// 16 MiB takes several), starting at the id given to the constructor.
class Stream {
public:
    explicit Stream(std::uint8_t first_sequence_id = 0) : seq_(first_sequence_id) {}

    Stream& packet(const ByteVec& payload);
    Stream& raw(const ByteVec& bytes);  // already framed
    Stream& reset_sequence(std::uint8_t seq) { seq_ = seq; return *this; }

    // Server responses.
    Stream& ok(std::uint16_t status, std::uint8_t header = 0x00, std::uint64_t affected = 0);
    Stream& eof(std::uint16_t status);
    Stream& err(std::uint16_t code, std::string_view state, std::string_view message);
    Stream& progress_report(std::uint8_t stage, std::uint8_t max_stage, std::uint32_t progress_per_mille);
    Stream& column_count(std::uint64_t n);
    Stream& column_definition(std::string_view name);
    Stream& text_row(const std::vector<std::string>& values);
    // A text result set: count, definitions, [EOF], rows, EOF or OK(0xFE).
    Stream& text_result(const std::vector<std::string>& columns, const std::vector<std::vector<std::string>>& rows,
                        bool deprecate_eof, std::uint16_t status);
    Stream& stmt_prepare_ok(std::uint32_t statement_id, std::uint16_t columns, std::uint16_t params);
    Stream& local_infile_request(std::string_view file_name);

    [[nodiscard]] const ByteVec& bytes() const { return out_; }
    [[nodiscard]] std::uint8_t next_sequence_id() const { return seq_; }

private:
    ByteVec out_;
    std::uint8_t seq_;
};

// Client commands (sequence id 0).
ByteVec com_query(std::string_view sql);
ByteVec com_simple(std::uint8_t command);  // a one-byte command: COM_PING, COM_QUIT, COM_RESET_CONNECTION...
ByteVec com_stmt_prepare(std::string_view sql);
ByteVec com_stmt_execute(std::uint32_t statement_id, std::int32_t param);
ByteVec com_stmt_close(std::uint32_t statement_id);
ByteVec com_change_user(std::string_view user, std::string_view database, std::string_view plugin,
                        const std::vector<std::pair<std::string, std::string>>& attributes);

// Framing of one packet.
ByteVec frame(std::uint8_t sequence_id, const ByteVec& payload);

// A greeting (MariaDB 10.11 as captured, with `capabilities` and `plugin`
// set as given) and a login that fits it.
codec::Greeting test_greeting(codec::Capabilities capabilities, std::string plugin = "mysql_native_password");
codec::Login test_login(codec::Capabilities capabilities, std::string user, std::optional<std::string> database,
                        std::vector<std::pair<std::string, std::string>> attributes);

// The capabilities a modern client and a MariaDB server agree on in these tests.
inline constexpr codec::Capabilities modern_caps =
    codec::cap::long_password | codec::cap::protocol_41 | codec::cap::secure_connection | codec::cap::transactions |
    codec::cap::plugin_auth | codec::cap::plugin_auth_lenenc_client_data | codec::cap::connect_attrs |
    codec::cap::connect_with_db | codec::cap::multi_results | codec::cap::multi_statements |
    codec::cap::ps_multi_results | codec::cap::session_track | codec::cap::local_files;

}  // namespace tether::session::test

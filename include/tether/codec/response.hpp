// Server responses: OK, ERR and EOF packets, and the ERR packets tether writes itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "tether/codec/capabilities.hpp"
#include "tether/codec/decode_result.hpp"
#include "tether/codec/packet.hpp"

namespace tether::codec {

inline constexpr std::uint8_t ok_header = 0x00;
inline constexpr std::uint8_t eof_header = 0xFE;
inline constexpr std::uint8_t err_header = 0xFF;
inline constexpr std::uint8_t local_infile_header = 0xFB;
inline constexpr std::uint8_t auth_more_data_header = 0x01;
inline constexpr std::uint8_t auth_switch_header = 0xFE;

// Views point into the decoded payload; decoding allocates nothing, so the
// command-phase tracker may call it on every response.
struct OkPacket {
    std::uint8_t header = ok_header;  // 0x00, or 0xFE for the OK that ends a result set under DEPRECATE_EOF
    std::uint64_t affected_rows = 0;
    std::uint64_t last_insert_id = 0;
    std::uint16_t status_flags = 0;
    std::uint16_t warnings = 0;
    std::string_view info;
    std::string_view session_state;  // raw session-track data, when present
};
// `capabilities` are the session's: PROTOCOL_41 decides whether status and
// warnings are present, SESSION_TRACK how the tail reads. Anything after the
// status flags that does not parse is kept as `info`, not an error: servers
// differ there (see fixtures/mysql/malformed_ok_*), and only the status matters.
DecodeResult<OkPacket> decode_ok(Bytes payload, Capabilities capabilities);

// CLIENT_SESSION_TRACK: an OK's session state is a list of entries, each a
// type byte and a length-encoded body. SESSION_TRACK_SCHEMA (1) carries the new
// default database as a length-encoded string (after `USE db`, COM_INIT_DB, a
// COM_CHANGE_USER). Returns the schema of the last such entry as a view into
// `session_state`, nullopt when there is none, malformed when the entries do
// not parse. Other entry types (system variables, GTIDs, transaction state)
// are skipped, known or not.
inline constexpr std::uint8_t session_track_schema = 0x01;
DecodeResult<std::optional<std::string_view>> decode_session_schema(std::string_view session_state);

struct ErrPacket {
    std::uint16_t code = 0;
    std::string_view sql_state;  // 5 characters, or empty when absent
    std::string_view message;
    // MariaDB sends progress reports as ERR packets with code 0xFFFF; they do
    // not end a command.
    [[nodiscard]] bool is_progress_report() const { return code == 0xFFFF; }
};
DecodeResult<ErrPacket> decode_err(Bytes payload);
// Headed 0xFF: an ERR (or a MariaDB progress report), whether or not the rest decodes.
[[nodiscard]] bool is_err_packet(Bytes payload);

struct EofPacket {
    std::uint16_t warnings = 0;
    std::uint16_t status_flags = 0;
};
// An EOF packet is 0xFE with a payload shorter than 9 bytes.
DecodeResult<EofPacket> decode_eof(Bytes payload);
[[nodiscard]] bool is_eof_packet(Bytes payload);

// A complete ERR packet (header included) as tether sends it: always with the
// '#' SQL-state marker, because some drivers (PyMySQL) skip those 6 bytes even
// on an ERR sent instead of a greeting.
std::vector<std::byte> encode_err(std::uint8_t sequence_id, std::uint16_t code, std::string_view sql_state,
                                  std::string_view message);
void append_err(std::vector<std::byte>& out, std::uint8_t sequence_id, std::uint16_t code,
                std::string_view sql_state, std::string_view message);

}  // namespace tether::codec

// Capability and server-status bits of the MySQL protocol (MySQL 8.x names, MariaDB extensions).
#pragma once

#include <cstdint>

namespace tether::codec {

// Capabilities are kept in one 64-bit word: the low 32 bits are MySQL's, the
// high 32 bits are MariaDB's extended capabilities (which travel in the
// greeting's reserved bytes and the login's filler when CLIENT_MYSQL is clear).
using Capabilities = std::uint64_t;

namespace cap {
inline constexpr Capabilities long_password = 1u << 0;  // MariaDB: CLIENT_MYSQL
inline constexpr Capabilities client_mysql = 1u << 0;
inline constexpr Capabilities found_rows = 1u << 1;
inline constexpr Capabilities long_flag = 1u << 2;
inline constexpr Capabilities connect_with_db = 1u << 3;
inline constexpr Capabilities no_schema = 1u << 4;
inline constexpr Capabilities compress = 1u << 5;
inline constexpr Capabilities odbc = 1u << 6;
inline constexpr Capabilities local_files = 1u << 7;
inline constexpr Capabilities ignore_space = 1u << 8;
inline constexpr Capabilities protocol_41 = 1u << 9;
inline constexpr Capabilities interactive = 1u << 10;
inline constexpr Capabilities ssl = 1u << 11;
inline constexpr Capabilities ignore_sigpipe = 1u << 12;
inline constexpr Capabilities transactions = 1u << 13;
inline constexpr Capabilities reserved = 1u << 14;
inline constexpr Capabilities secure_connection = 1u << 15;
inline constexpr Capabilities multi_statements = 1u << 16;
inline constexpr Capabilities multi_results = 1u << 17;
inline constexpr Capabilities ps_multi_results = 1u << 18;
inline constexpr Capabilities plugin_auth = 1u << 19;
inline constexpr Capabilities connect_attrs = 1u << 20;
inline constexpr Capabilities plugin_auth_lenenc_client_data = 1u << 21;
inline constexpr Capabilities can_handle_expired_passwords = 1u << 22;
inline constexpr Capabilities session_track = 1u << 23;
inline constexpr Capabilities deprecate_eof = 1u << 24;
inline constexpr Capabilities optional_resultset_metadata = 1u << 25;
inline constexpr Capabilities zstd_compression = 1u << 26;
inline constexpr Capabilities query_attributes = 1u << 27;
inline constexpr Capabilities multi_factor_authentication = 1u << 28;
inline constexpr Capabilities capability_extension = 1u << 29;
inline constexpr Capabilities ssl_verify_server_cert = 1u << 30;
inline constexpr Capabilities remember_options = 1u << 31;

// MariaDB extended capabilities (bit 32 + n).
inline constexpr Capabilities mariadb_progress = 1ull << 32;
inline constexpr Capabilities mariadb_com_multi = 1ull << 33;
inline constexpr Capabilities mariadb_stmt_bulk_operations = 1ull << 34;
inline constexpr Capabilities mariadb_extended_type_info = 1ull << 35;
inline constexpr Capabilities mariadb_cache_metadata = 1ull << 36;
inline constexpr Capabilities mariadb_bulk_unit_results = 1ull << 37;
}  // namespace cap

// Server status flags carried by OK and EOF packets.
namespace status {
inline constexpr std::uint16_t in_trans = 0x0001;
inline constexpr std::uint16_t autocommit = 0x0002;
inline constexpr std::uint16_t more_results_exists = 0x0008;
inline constexpr std::uint16_t no_good_index_used = 0x0010;
inline constexpr std::uint16_t no_index_used = 0x0020;
inline constexpr std::uint16_t cursor_exists = 0x0040;
inline constexpr std::uint16_t last_row_sent = 0x0080;
inline constexpr std::uint16_t db_dropped = 0x0100;
inline constexpr std::uint16_t no_backslash_escapes = 0x0200;
inline constexpr std::uint16_t metadata_changed = 0x0400;
inline constexpr std::uint16_t query_was_slow = 0x0800;
inline constexpr std::uint16_t ps_out_params = 0x1000;
inline constexpr std::uint16_t in_trans_readonly = 0x2000;
inline constexpr std::uint16_t session_state_changed = 0x4000;
}  // namespace status

}  // namespace tether::codec

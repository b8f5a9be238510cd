// The MySQL bytes the io tests put on the wire: real packets from
// tests/fixtures/mysql (a MariaDB 10.8 greeting, the Connector/C login that
// fits it, an OK) and a few built with the codec's writers (queries, a large
// result set, ERR).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tether::io::test {

using Bytes = std::vector<std::byte>;

// A fixture file's bytes (comments dropped), from TETHER_FIXTURES.
Bytes fixture_bytes(const std::string& name);

Bytes greeting();           // greeting_mariadb-10.8.2: seq 0
Bytes login();              // response41_libmariadb-3.0.8: seq 1, user root, program_name mysql
Bytes ok_after_login();     // ok_autocommit: seq 2
Bytes com_quit();           // com_quit
Bytes com_query(std::string_view sql);
// A COM_QUERY of about `size` bytes (one packet: below 16 MiB).
Bytes large_com_query(std::size_t size);
// A text result set of `rows` rows of one `row_size`-byte column (EOF framing),
// each value `row_size` times `fill`.
Bytes large_result(std::size_t rows, std::size_t row_size, char fill = 'r');
Bytes err(std::uint8_t sequence_id, std::uint16_t code, std::string_view sql_state, std::string_view message);

// The ERR code of a framed packet, or 0 when it is not an ERR.
std::uint16_t err_code(const Bytes& packet);
bool is_greeting(const Bytes& packet);
// `bytes` ends with a whole COM_QUIT packet.
bool ends_with_com_quit(const Bytes& bytes);

}  // namespace tether::io::test

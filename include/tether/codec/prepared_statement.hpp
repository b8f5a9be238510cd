// The server's answer to COM_STMT_PREPARE: COM_STMT_PREPARE_OK.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "tether/codec/decode_result.hpp"
#include "tether/codec/packet.hpp"

namespace tether::codec {

// 0x00, statement id (4), column count (2), parameter count (2), then a
// filler byte and the warning count (2) from servers that send them (all
// 4.1+ servers do). Parameter definitions, then column definitions, follow
// as their own packets, each list ended by an EOF unless DEPRECATE_EOF.
struct StmtPrepareOk {
    std::uint32_t statement_id = 0;
    std::uint16_t columns = 0;
    std::uint16_t params = 0;
    std::optional<std::uint16_t> warnings;
};

inline constexpr std::size_t stmt_prepare_ok_min_size = 9;
inline constexpr std::size_t stmt_prepare_ok_with_warnings_size = 12;

// Reads the fixed fields only, so the payload's first bytes (at least 9, with
// 12 the warning count too) are enough: the command tracker sees a prefix.
// Malformed when shorter than 9 bytes or not headed 0x00.
DecodeResult<StmtPrepareOk> decode_stmt_prepare_ok(Bytes payload);

}  // namespace tether::codec

// Text result sets (the answer to COM_QUERY): the column count, a column
// definition's name, and a text row. The relay never decodes rows; tether's
// own monitor session does, to read the server's status.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "tether/codec/decode_result.hpp"
#include "tether/codec/packet.hpp"

namespace tether::codec {

// The first packet of a result set: one length-encoded integer (not 0: a 0x00
// header is an OK, 0xFF an ERR, 0xFB a LOCAL INFILE request). Malformed when
// anything follows it (a client that agreed CLIENT_OPTIONAL_RESULTSET_METADATA
// gets a metadata byte there; tether's own session never asks for it).
DecodeResult<std::uint64_t> decode_column_count(Bytes payload);

// Protocol::ColumnDefinition41: catalog, schema, table, org_table, name,
// org_name, then a fixed-length block. Only the name is kept (a view into the
// payload); the fields before it must parse.
struct ColumnDefinition {
    std::string_view name;
};
DecodeResult<ColumnDefinition> decode_column_definition(Bytes payload);

// One text row of `columns` values: each a length-encoded string, or 0xFB for
// NULL (nullopt). Views into the payload. Malformed when the row has fewer or
// more values than `columns`, or a length runs past the payload.
using TextRow = std::vector<std::optional<std::string_view>>;
DecodeResult<TextRow> decode_text_row(Bytes payload, std::size_t columns);

// Whether a packet inside a result set ends it (after the column definitions
// or the rows): an EOF packet (0xFE, shorter than 9 bytes), or under
// CLIENT_DEPRECATE_EOF an OK headed 0xFE (any length a single packet can have).
// A row can begin with 0xFE too (a value of 2^24 bytes or more), which only
// length tells apart.
[[nodiscard]] bool ends_result_set(Bytes payload, bool deprecate_eof);

}  // namespace tether::codec

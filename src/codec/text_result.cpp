// Text result sets (see text_result.hpp).
#include "tether/codec/text_result.hpp"

#include "tether/codec/response.hpp"
#include "tether/codec/wire.hpp"

namespace tether::codec {

namespace {

constexpr std::uint8_t null_value = 0xFB;

}  // namespace

DecodeResult<std::uint64_t> decode_column_count(Bytes payload) {
    using Result = DecodeResult<std::uint64_t>;
    if (payload.empty()) return Result::bad("empty column count");
    const auto first = std::to_integer<std::uint8_t>(payload[0]);
    if (first == ok_header || first == err_header || first == local_infile_header) {
        return Result::bad("not a column count");
    }
    WireReader r(payload);
    const auto count = r.lenenc_int();
    if (!count) return Result::bad("column count truncated");
    if (!r.at_end()) return Result::bad("bytes after the column count");
    return Result::success(*count, payload.size());
}

DecodeResult<ColumnDefinition> decode_column_definition(Bytes payload) {
    using Result = DecodeResult<ColumnDefinition>;
    WireReader r(payload);
    for (int field = 0; field < 4; ++field) r.lenenc_string();  // catalog, schema, table, org_table
    const auto name = r.lenenc_string();
    const auto org_name = r.lenenc_string();
    // The fixed block: its length (0x0c), character set, length, type, flags, decimals, filler.
    const auto fixed_length = r.lenenc_int();
    if (!r.ok() || !name || !org_name || !fixed_length) return Result::bad("column definition truncated");
    if (*fixed_length < 0x0c || r.remaining() < *fixed_length) return Result::bad("column definition truncated");
    return Result::success(ColumnDefinition{*name}, payload.size());
}

DecodeResult<TextRow> decode_text_row(Bytes payload, std::size_t columns) {
    using Result = DecodeResult<TextRow>;
    WireReader r(payload);
    TextRow row;
    row.reserve(columns);
    for (std::size_t i = 0; i < columns; ++i) {
        const auto first = r.peek();
        if (!first) return Result::bad("text row has fewer values than columns");
        if (*first == null_value) {
            r.skip(1);
            row.emplace_back(std::nullopt);
            continue;
        }
        const auto value = r.lenenc_string();
        if (!value) return Result::bad("text row value runs past the packet");
        row.emplace_back(*value);
    }
    if (!r.at_end()) return Result::bad("text row has more values than columns");
    return Result::success(std::move(row), payload.size());
}

bool ends_result_set(Bytes payload, bool deprecate_eof) {
    if (payload.empty() || std::to_integer<std::uint8_t>(payload[0]) != eof_header) return false;
    return deprecate_eof ? payload.size() < max_physical_payload : payload.size() < 9;
}

}  // namespace tether::codec

// COM_STMT_PREPARE_OK (see prepared_statement.hpp).
#include "tether/codec/prepared_statement.hpp"

#include "tether/codec/response.hpp"
#include "tether/codec/wire.hpp"

namespace tether::codec {

DecodeResult<StmtPrepareOk> decode_stmt_prepare_ok(Bytes payload) {
    using Result = DecodeResult<StmtPrepareOk>;
    if (payload.size() < stmt_prepare_ok_min_size) return Result::bad("COM_STMT_PREPARE OK shorter than 9 bytes");
    WireReader r(payload);
    if (r.u8() != ok_header) return Result::bad("COM_STMT_PREPARE OK not headed 0x00");
    StmtPrepareOk ok;
    ok.statement_id = *r.u32();
    ok.columns = *r.u16();
    ok.params = *r.u16();
    if (payload.size() >= stmt_prepare_ok_with_warnings_size) {
        r.skip(1);  // filler
        ok.warnings = *r.u16();
    }
    return Result::success(ok, ok.warnings ? stmt_prepare_ok_with_warnings_size : stmt_prepare_ok_min_size);
}

}  // namespace tether::codec

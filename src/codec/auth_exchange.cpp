// Authentication-exchange messages the server sends between login and OK: AuthSwitchRequest and AuthMoreData.
#include "tether/codec/handshake.hpp"
#include "tether/codec/response.hpp"
#include "tether/codec/wire.hpp"

namespace tether::codec {

DecodeResult<AuthSwitchRequest> decode_auth_switch(Bytes payload) {
    using Result = DecodeResult<AuthSwitchRequest>;
    WireReader r(payload);
    auto header = r.u8();
    if (!header || *header != auth_switch_header) return Result::bad("not an AuthSwitchRequest packet");
    AuthSwitchRequest request;
    // A lone 0xFE is the 4.1-era request to fall back to the pre-4.1 scramble.
    if (r.at_end()) {
        request.plugin_name = "mysql_old_password";
        return Result::success(std::move(request), payload.size());
    }
    auto name = r.nul_string();
    if (!name) return Result::bad("AuthSwitchRequest plugin name not terminated");
    request.plugin_name = std::string(*name);
    // The data is kept as sent, including the NUL that MySQL appends to the scramble.
    auto data = r.rest();
    request.plugin_data.assign(data.begin(), data.end());
    return Result::success(std::move(request), payload.size());
}

DecodeResult<AuthMoreData> decode_auth_more_data(Bytes payload) {
    using Result = DecodeResult<AuthMoreData>;
    WireReader r(payload);
    auto header = r.u8();
    if (!header || *header != auth_more_data_header) return Result::bad("not an AuthMoreData packet");
    AuthMoreData more;
    auto data = r.rest();
    more.data.assign(data.begin(), data.end());
    return Result::success(std::move(more), payload.size());
}

}  // namespace tether::codec

// A libuv stream handle that is TCP or a unix socket, in storage for either.
#pragma once

#include <uv.h>

namespace tether::io {

// Which member is live depends on the address (uv_tcp_init or uv_pipe_init);
// `handle` and `stream` view either, as libuv's own casts do. The owner keeps
// it at a stable address until uv_close's callback has run.
union StreamHandle {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
};

}  // namespace tether::io

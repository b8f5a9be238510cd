// What the I/O layer must do after feeding a Session an event.
#pragma once

#include <cstddef>
#include <vector>

#include "tether/session/event_list.hpp"
#include "tether/session/events.hpp"

namespace tether::session {

// Filled by every Session entry point; the owner starts each call with an
// empty one (or clear()s it), so the steady state allocates nothing.
struct Actions {
    // Forward the input chunk unchanged to the other side (the command-phase
    // fast path: no copy, no parse beyond packet headers).
    bool forward = false;
    // Bytes the session wrote itself; sent after the forwarded chunk, if any.
    std::vector<std::byte> to_client;
    std::vector<std::byte> to_upstream;
    bool connect_upstream = false;
    // Close that side once what is queued for it has been written.
    bool close_client = false;
    bool close_upstream = false;
    // With close_client: half-close the client after what is queued for it and
    // read and drop what it still sends (bounded) before closing. Closing a
    // socket with unread bytes makes the kernel answer with a reset, and a
    // client still sending (a huge login) then loses the ERR tether wrote.
    bool drain_client = false;
    // TLS starts on a leg once what is queued for it has been written: the
    // client's after its SSLRequest (`client_tls_bytes` is what it sent after
    // that request: the start of its ClientHello), the server's after tether's
    // own SSLRequest (the last bytes of to_upstream).
    bool start_client_tls = false;
    std::vector<std::byte> client_tls_bytes;
    bool start_upstream_tls = false;
    // What happened in this step, in the order it happened (events.hpp). The
    // owner reacts to each once (attribution, metrics, logs); each carries
    // its own detail, so nothing needs clearing after it is handled.
    EventList events;

    template <class E>
    void raise(E event) {
        events.raise(std::move(event));
    }
    void clear() {
        forward = false;
        to_client.clear();
        to_upstream.clear();
        connect_upstream = false;
        close_client = false;
        close_upstream = false;
        drain_client = false;
        start_client_tls = false;
        client_tls_bytes.clear();
        start_upstream_tls = false;
        events.clear();
    }
};

}  // namespace tether::session

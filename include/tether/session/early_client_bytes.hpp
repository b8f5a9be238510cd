// What a client sends after its login and before the server's OK, kept so the tracker sees pipelined commands.
#pragma once

#include <cstddef>
#include <vector>

#include "tether/codec/packet.hpp"

namespace tether::session {

// During authentication the client's bytes go to the server at once: answers
// in the auth exchange, and possibly commands pipelined behind the login.
// The command tracker starts at the login's OK, so the commands among them
// are kept and replayed to it then. Bounded: past `limit` (the largest auth
// packet tether relays) nothing is kept - keeping it would pin that much for
// the session's life - and the tracker must give up instead.
class EarlyClientBytes {
public:
    static constexpr std::size_t limit = 1024 * 1024;

    void remember(codec::Bytes chunk);
    // More came than the limit: there is nothing to replay, and the tracker
    // cannot follow the session.
    [[nodiscard]] bool overflowed() const { return overflowed_; }
    // What the tracker must see: everything from the first packet that starts
    // a command (sequence id 0; the auth answers before it have higher ones).
    // Points into the kept bytes: valid until the next remember() or release().
    [[nodiscard]] codec::Bytes commands() const;
    // Zeroed and freed (they may hold the client's auth answers).
    void release();
    [[nodiscard]] std::size_t capacity() const { return bytes_.capacity(); }

private:
    std::vector<std::byte> bytes_;
    bool overflowed_ = false;
};

}  // namespace tether::session

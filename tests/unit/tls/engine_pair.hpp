// A client Engine and a server Engine wired back to back in memory: what one
// writes to its "socket" the other is fed, as io will do with real sockets.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tether/tls/engine.hpp"

namespace tether::test {

// Moves every pending ciphertext byte from one engine into the other.
// Returns how many bytes moved.
std::size_t transfer(tls::Engine& from, tls::Engine& to);

struct EnginePair {
    std::unique_ptr<tls::Engine> client;
    std::unique_ptr<tls::Engine> server;

    EnginePair(std::shared_ptr<tls::ClientContext> client_context,
               std::shared_ptr<const tls::ServerContext> server_context);

    // Runs both handshakes, moving bytes until neither moves any: true when
    // both are open. A failed side stops the exchange after its alert went over.
    bool handshake();
    // Everything plaintext the receiver can read now.
    static std::string read_all(tls::Engine& engine);
};

}  // namespace tether::test

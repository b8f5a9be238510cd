// Two engines back to back in memory (see engine_pair.hpp).
#include "engine_pair.hpp"

#include <doctest/doctest.h>

#include <array>

namespace tether::test {

using tls::Engine;

std::size_t transfer(Engine& from, Engine& to) {
    std::size_t moved = 0;
    std::array<std::uint8_t, 4096> buffer{};
    while (const std::size_t n = from.take_ciphertext(buffer)) {
        to.feed(std::span<const std::uint8_t>(buffer.data(), n));
        moved += n;
    }
    return moved;
}

EnginePair::EnginePair(std::shared_ptr<tls::ClientContext> client_context,
                       std::shared_ptr<const tls::ServerContext> server_context)
    : client(Engine::client(std::move(client_context))), server(Engine::server(std::move(server_context))) {
    REQUIRE(client != nullptr);
    REQUIRE(server != nullptr);
}

bool EnginePair::handshake() {
    for (int round = 0; round < 20; ++round) {
        client->handshake();
        std::size_t moved = transfer(*client, *server);
        server->handshake();
        moved += transfer(*server, *client);
        // TLS 1.3: the server is done first and sends its tickets, which the
        // client reads after its own handshake.
        client->handshake();
        moved += transfer(*client, *server);
        // A failed side's alert still goes over (moved > 0), so the other
        // side fails with the reason the alert gives.
        if (moved == 0) break;
    }
    return client->state() == Engine::State::open && server->state() == Engine::State::open;
}

std::string EnginePair::read_all(Engine& engine) {
    std::string out;
    std::array<std::uint8_t, 4096> buffer{};
    while (const std::size_t n = engine.read(buffer)) out.append(reinterpret_cast<const char*>(buffer.data()), n);
    return out;
}

}  // namespace tether::test

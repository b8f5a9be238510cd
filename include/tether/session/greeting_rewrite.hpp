// The greeting tether shows the client: the server's, minus what tether cannot relay.
#pragma once

#include "tether/codec/handshake.hpp"

namespace tether::session {

// CLIENT_COMPRESS and ZSTD pass as the server sets them: the session decodes
// compressed frames in front of its command tracker (compressed_command_feed.hpp).
//
// Hidden from the client:
// - CLIENT_SSL, unless tether terminates the client's TLS itself (--tls-cert):
//   then it is offered whatever the server says, for the two legs are
//   negotiated apart.
// - OPTIONAL_RESULTSET_METADATA, MariaDB's CACHE_METADATA, COM_MULTI and
//   BULK_UNIT_RESULTS: they change result-set layouts the tracker reads.
inline constexpr codec::Capabilities hidden_capabilities =
    codec::cap::ssl | codec::cap::optional_resultset_metadata |
    codec::cap::mariadb_cache_metadata | codec::cap::mariadb_com_multi | codec::cap::mariadb_bulk_unit_results;

inline codec::Capabilities client_capabilities(const codec::Greeting& server, bool offer_tls = false) {
    return (server.capabilities & ~hidden_capabilities) | (offer_tls ? codec::cap::ssl : 0);
}

inline codec::Greeting client_greeting(const codec::Greeting& server, bool offer_tls = false) {
    codec::Greeting shown = server;
    shown.capabilities = client_capabilities(server, offer_tls);
    return shown;
}

}  // namespace tether::session

// The login tether sends to finish a server handshake its client abandoned.
#pragma once

#include <optional>
#include <string>

#include "tether/codec/handshake.hpp"

namespace tether::session {

// A well-formed HandshakeResponse41 for `user` (a name that must not exist on
// the server) with an empty auth response and the plugin the greeting named.
// The server answers 1045, which does not count toward max_connect_errors;
// dropping the connection instead would, and after max_connect_errors such
// drops the server blocks tether's address for every app behind it.
//
// After an SSLRequest the server keeps that request's capabilities (it does
// not parse the login's again), so the login is then encoded with exactly
// `fixed_capabilities`: every field they announce is present (an empty
// database, no attributes).
codec::Login reserved_login(const codec::Greeting& greeting, const std::string& user,
                            std::optional<codec::Capabilities> fixed_capabilities = std::nullopt);

}  // namespace tether::session

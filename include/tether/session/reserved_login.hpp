// The login tether sends to finish a server handshake its client abandoned.
#pragma once

#include <string>

#include "tether/codec/handshake.hpp"

namespace tether::session {

// A well-formed HandshakeResponse41 for `user` (a name that must not exist on
// the server) with an empty auth response and the plugin the greeting named.
// The server answers 1045, which does not count toward max_connect_errors;
// dropping the connection instead would, and after max_connect_errors such
// drops the server blocks tether's address for every app behind it.
codec::Login reserved_login(const codec::Greeting& greeting, const std::string& user);

}  // namespace tether::session

// The login that finishes an abandoned server handshake (see reserved_login.hpp).
#include "tether/session/reserved_login.hpp"

namespace tether::session {

codec::Login reserved_login(const codec::Greeting& greeting, const std::string& user,
                            std::optional<codec::Capabilities> fixed_capabilities) {
    namespace cap = codec::cap;
    // Only what every 4.1+ server understands; CLIENT_MYSQL (bit 0) mirrors the
    // server, so a MariaDB server does not look for extended capabilities.
    constexpr codec::Capabilities wanted = cap::long_password | cap::protocol_41 | cap::secure_connection |
                                           cap::plugin_auth | cap::transactions |
                                           cap::plugin_auth_lenenc_client_data;
    codec::Login login;
    login.capabilities = fixed_capabilities ? *fixed_capabilities : greeting.capabilities & wanted & 0xFFFFFFFFull;
    login.max_packet_size = 16 * 1024 * 1024;
    login.character_set = greeting.character_set != 0 ? greeting.character_set : 33;
    login.user = user;
    login.auth_response_encoding = (login.capabilities & cap::plugin_auth_lenenc_client_data) != 0
                                       ? codec::AuthResponseEncoding::lenenc
                                       : codec::AuthResponseEncoding::length_prefixed;
    if ((login.capabilities & cap::plugin_auth) != 0 && !greeting.auth_plugin_name.empty()) {
        login.auth_plugin_name = greeting.auth_plugin_name;
    }
    if ((login.capabilities & cap::connect_with_db) != 0) login.database = std::string();
    if ((login.capabilities & cap::zstd_compression) != 0) login.zstd_compression_level = 3;
    return login;
}

}  // namespace tether::session

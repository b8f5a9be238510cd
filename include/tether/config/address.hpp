// Where to listen or connect: "host:port", "[v6]:port" or "unix:/path".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tether::config {

struct Address {
    enum class Kind { tcp, unix_socket };
    Kind kind = Kind::tcp;
    std::string host;  // a name or literal; names are resolved on every connect
    std::uint16_t port = 0;
    std::string path;  // for unix_socket
    std::string text;  // as given, for logs and messages

    [[nodiscard]] bool is_loopback() const;
};

// nullopt with `error` set when the text is not an address.
std::optional<Address> parse_address(std::string_view text, std::string& error);

}  // namespace tether::config

// Address parsing (see address.hpp).
#include "tether/config/address.hpp"

#include <charconv>

namespace tether::config {

bool Address::is_loopback() const {
    if (kind == Kind::unix_socket) return true;
    return host == "localhost" || host.starts_with("127.") || host == "::1";
}

std::optional<Address> parse_address(std::string_view text, std::string& error) {
    Address a;
    a.text = std::string(text);
    if (text.starts_with("unix:")) {
        a.kind = Address::Kind::unix_socket;
        a.path = std::string(text.substr(5));
        if (a.path.empty()) {
            error = "empty unix socket path";
            return std::nullopt;
        }
        return a;
    }
    std::string_view host;
    std::string_view port;
    if (text.starts_with("[")) {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) {
            error = "expected [v6-address]:port";
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            error = "expected host:port or unix:/path";
            return std::nullopt;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            error = "an IPv6 address needs brackets: [address]:port";
            return std::nullopt;
        }
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (host.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
        error = "expected host:port with a port from 0 to 65535";
        return std::nullopt;
    }
    a.host = std::string(host);
    a.port = static_cast<std::uint16_t>(value);
    return a;
}

}  // namespace tether::config

// --upstream-tls modes by name (see client_mode.hpp).
#include "tether/tls/client_mode.hpp"

#include <array>
#include <utility>

namespace tether::tls {

namespace {
constexpr std::array<std::pair<ClientMode, std::string_view>, 5> names{{
    {ClientMode::disabled, "disabled"},
    {ClientMode::preferred, "preferred"},
    {ClientMode::required, "required"},
    {ClientMode::verify_ca, "verify-ca"},
    {ClientMode::verify_identity, "verify-identity"},
}};
}  // namespace

std::optional<ClientMode> parse_client_mode(std::string_view name) {
    for (const auto& [mode, spelled] : names)
        if (spelled == name) return mode;
    return std::nullopt;
}

std::string_view format_client_mode(ClientMode mode) {
    for (const auto& [each, spelled] : names)
        if (each == mode) return spelled;
    return "disabled";
}

}  // namespace tether::tls

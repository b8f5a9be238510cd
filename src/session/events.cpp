// The log wording of each session event (see events.hpp).
#include "tether/session/events.hpp"

#include <type_traits>

namespace tether::session {

namespace {

// "what: 1045 Access denied ..." for the log; the server's words, never auth data.
std::string describe_refusal(std::string_view what, const std::optional<ServerError>& error) {
    std::string text(what);
    if (error) text += ": " + std::to_string(error->code) + " " + error->message;
    return text;
}

template <class E>
constexpr bool has_detail = requires(const E& e) { e.detail(); };

}  // namespace

std::string UpstreamRefused::detail() const { return describe_refusal("upstream refused the connection", error); }

std::string AuthFailed::detail() const { return describe_refusal("upstream refused the login", error); }

std::string Desynced::detail() const { return "lost protocol sync, relaying without tracking: " + reason; }

std::string_view event_name(const SessionEvent& event) {
    return std::visit(
        [](const auto& e) -> std::string_view {
            using E = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<E, GreetingReceived>) return "greeting_received";
            if constexpr (std::is_same_v<E, UpstreamRefused>) return "upstream_refused";
            if constexpr (std::is_same_v<E, UpstreamUnreachable>) return "upstream_unreachable";
            if constexpr (std::is_same_v<E, LoginReceived>) return "login_received";
            if constexpr (std::is_same_v<E, ChangeUserAccepted>) return "change_user_accepted";
            if constexpr (std::is_same_v<E, Authenticated>) return "authenticated";
            if constexpr (std::is_same_v<E, AuthFailed>) return "auth_failed";
            if constexpr (std::is_same_v<E, Desynced>) return "desynced";
            if constexpr (std::is_same_v<E, ClientRefused>) return "client_refused";
            if constexpr (std::is_same_v<E, HandshakeAbandoned>) return "handshake_abandoned";
            if constexpr (std::is_same_v<E, UpstreamProblem>) return "upstream_problem";
        },
        event);
}

std::string event_detail(const SessionEvent& event) {
    return std::visit(
        [](const auto& e) -> std::string {
            if constexpr (has_detail<std::decay_t<decltype(e)>>) {
                return e.detail();
            } else {
                return {};
            }
        },
        event);
}

std::string upstream_detail(const SessionEvent& event) {
    if (const auto* e = std::get_if<UpstreamRefused>(&event)) return e->detail();
    if (const auto* e = std::get_if<UpstreamUnreachable>(&event)) return e->detail();
    if (const auto* e = std::get_if<UpstreamProblem>(&event)) return e->detail();
    return {};
}

}  // namespace tether::session

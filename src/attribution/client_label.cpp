// Client label resolution (see client_label.hpp).
#include "tether/attribution/client_label.hpp"

namespace tether::attribution {

namespace {

constexpr std::size_t max_label_length = 64;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<std::vector<LabelRule>> parse_label_rules(std::string_view spec, std::string& error) {
    std::vector<LabelRule> rules;
    while (!spec.empty()) {
        const auto comma = spec.find(',');
        const std::string_view item = trim(spec.substr(0, comma));
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        if (item == "user") {
            rules.push_back({LabelRule::Kind::user, {}});
        } else if (item == "addr") {
            rules.push_back({LabelRule::Kind::addr, {}});
        } else if (item.starts_with("attr:") && !trim(item.substr(5)).empty()) {
            rules.push_back({LabelRule::Kind::attribute, std::string(trim(item.substr(5)))});
        } else {
            error = "unknown rule '" + std::string(item) + "' (expected attr:NAME, user or addr)";
            return std::nullopt;
        }
    }
    if (rules.empty()) {
        error = "no rules given (expected a comma list of attr:NAME, user, addr)";
        return std::nullopt;
    }
    return rules;
}

std::string clean_label_value(std::string_view raw) {
    std::string out(raw.substr(0, max_label_length));
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7F || c == '"' || c == '\\') c = '_';
    }
    return out;
}

std::string resolve_client_label(const std::vector<LabelRule>& rules, const codec::Login& login,
                                 std::string_view peer_address) {
    for (const auto& rule : rules) {
        std::string_view value;
        switch (rule.kind) {
            case LabelRule::Kind::attribute:
                if (const auto v = login.attribute(rule.attribute)) value = *v;
                break;
            case LabelRule::Kind::user:
                value = login.user;
                break;
            case LabelRule::Kind::addr:
                value = peer_address;
                break;
        }
        value = trim(value);
        if (!value.empty()) return clean_label_value(value);
    }
    return "unknown";
}

}  // namespace tether::attribution

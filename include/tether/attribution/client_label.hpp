// Which application a connection belongs to: the `client` label, resolved from
// the login by the --client-label rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tether/codec/handshake.hpp"

namespace tether::attribution {

struct LabelRule {
    enum class Kind { attribute, user, addr };
    Kind kind = Kind::addr;
    std::string attribute;  // for Kind::attribute
};

// Parses "attr:program_name,user,addr". Returns nullopt and sets `error` on a
// bad rule.
std::optional<std::vector<LabelRule>> parse_label_rules(std::string_view spec, std::string& error);

// The first rule that yields a non-empty value wins; "unknown" when none does.
// Values are cleaned for Prometheus and capped in length, so a client cannot
// inject arbitrary bytes into the metrics.
std::string resolve_client_label(const std::vector<LabelRule>& rules, const codec::Login& login,
                                 std::string_view peer_address);

// A label value safe to export: printable ASCII, at most 64 characters.
std::string clean_label_value(std::string_view raw);

}  // namespace tether::attribution

// Durations on the command line: "500ms", "30s", "5m", "1h", or "0" for off.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace tether::config {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace tether::config

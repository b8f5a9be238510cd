// Duration parsing (see duration.hpp).
#include "tether/config/duration.hpp"

#include <charconv>

namespace tether::config {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    if (text == "0") return std::chrono::milliseconds{0};
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end == text.data() || value < 0) return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::int64_t scale = 0;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1'000;
    else if (unit == "m") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else return std::nullopt;
    if (value > INT64_MAX / scale) return std::nullopt;
    return std::chrono::milliseconds{value * scale};
}

}  // namespace tether::config

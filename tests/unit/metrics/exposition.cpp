// Exposition reading for the metrics tests (see exposition.hpp).
#include "exposition.hpp"

#include <sstream>

namespace tether::metrics::test {

MetricsConfig config_with(std::chrono::seconds linger, std::size_t max_client_labels) {
    MetricsConfig config;
    config.max_client_labels = max_client_labels;
    config.series_linger = linger;
    config.version = "9.8.7-test";
    return config;
}

std::vector<std::string> sample_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != '#') lines.push_back(line);
    }
    return lines;
}

std::optional<double> sample(const std::string& text, const std::string& series) {
    for (const auto& line : sample_lines(text)) {
        if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
            return std::stod(line.substr(series.size() + 1));
        }
    }
    return std::nullopt;
}

bool any_sample(const std::string& text, const std::string& prefix) {
    for (const auto& line : sample_lines(text)) {
        if (line.starts_with(prefix)) return true;
    }
    return false;
}

}  // namespace tether::metrics::test

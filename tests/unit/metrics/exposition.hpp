// Reading the rendered Prometheus text exposition back in the metrics tests.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tether/metrics/metrics.hpp"

namespace tether::metrics::test {

MetricsConfig config_with(std::chrono::seconds linger, std::size_t max_client_labels = 100);
// The sample lines of the exposition (no # HELP / # TYPE).
std::vector<std::string> sample_lines(const std::string& text);
// The value of the sample whose name and labels are exactly `series`, or nullopt.
std::optional<double> sample(const std::string& text, const std::string& series);
// Whether any sample line starts with `prefix` (a metric name plus "{", say).
bool any_sample(const std::string& text, const std::string& prefix);

}  // namespace tether::metrics::test

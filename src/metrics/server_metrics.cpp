// The monitor's series (see server_metrics.hpp), serialized like the rest.
#include "tether/metrics/server_metrics.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <vector>

namespace tether::metrics {

namespace {

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type, double value) {
    prometheus::MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = type;
    prometheus::ClientMetric metric;
    if (type == prometheus::MetricType::Counter) {
        metric.counter.value = value;
    } else {
        metric.gauge.value = value;
    }
    f.metric.push_back(std::move(metric));
    return f;
}

}  // namespace

std::string ServerMetrics::render() const {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> families;
    families.push_back(family("tether_monitor_up",
                              "1 while tether's monitor session is logged in to the server and answering, else 0",
                              MetricType::Gauge, up_ ? 1 : 0));
    if (up_ && known_) {
        const auto& f = figures_;
        families.push_back(family("tether_server_threads_connected",
                                  "The server's Threads_connected (every client of the server, not only tether's)",
                                  MetricType::Gauge, static_cast<double>(f.threads_connected)));
        families.push_back(family("tether_server_max_connections", "The server's @@max_connections",
                                  MetricType::Gauge, static_cast<double>(f.max_connections)));
        families.push_back(family("tether_server_aborted_clients_total",
                                  "The server's Aborted_clients (starts again from 0 when the server restarts)",
                                  MetricType::Counter, static_cast<double>(f.aborted_clients)));
        families.push_back(family("tether_server_aborted_connects_total",
                                  "The server's Aborted_connects (starts again from 0 when the server restarts)",
                                  MetricType::Counter, static_cast<double>(f.aborted_connects)));
    }
    return prometheus::TextSerializer().Serialize(families);
}

}  // namespace tether::metrics

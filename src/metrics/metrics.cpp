// Prometheus series and their lifecycle (see metrics.hpp).
#include "tether/metrics/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <array>
#include <fstream>
#include <iterator>
#include <map>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "tether/attribution/label_budget.hpp"

namespace tether::metrics {

// Series of one client/user pair.
struct PairSeries {
    // The connection gauge and the leak gauges are exported while `open` is
    // above zero. They are plain numbers here, turned into series at scrape
    // time (PairGauges): a client that connects per request takes its count
    // from 0 to 1 and back on every request, and four prometheus-cpp series
    // added and removed each time (a label map built, hashed, copied and
    // freed for each) were a fair share of what such a connection cost.
    double leak_suspects = 0;
    double max_idle_seconds = 0;
    double idle_in_transaction = 0;
    std::map<std::string, prometheus::Counter*, std::less<>> rejected;  // by limit
    prometheus::Counter* opened = nullptr;
    prometheus::Counter* auth_failures = nullptr;
    std::size_t holders = 0;  // sessions holding these labels
    double open = 0;
    Clock::time_point idle_since{};
};

namespace {

double open_fds() {
    double count = 0;
    if (DIR* dir = opendir("/proc/self/fd")) {
        while (const dirent* entry = readdir(dir)) {
            if (entry->d_name[0] != '.') ++count;
        }
        closedir(dir);
        count -= 1;  // the directory handle itself
    }
    return count;
}

// The soft RLIMIT_NOFILE (what /proc/self/limits shows as "Max open files"), read each scrape: prlimit may change it.
double max_fds() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
    return static_cast<double>(limit.rlim_cur);
}

double resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    long pages_total = 0;
    long pages_resident = 0;
    statm >> pages_total >> pages_resident;
    return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// The families of the per-pair gauges, with their help texts (the exposition is
// what prometheus-cpp's gauge families gave: HELP, TYPE, a series per pair with
// open sessions, no family at all while there is none).
struct PairGauge {
    const char* name;
    const char* help;
    double (*value)(const PairSeries&);
};

// Looked up by views of a session's labels: no copy of the two strings per lookup.
using PairView = std::pair<std::string_view, std::string_view>;
struct PairLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
        const std::string_view a_first = a.first;
        const std::string_view b_first = b.first;
        if (a_first != b_first) return a_first < b_first;
        return std::string_view(a.second) < std::string_view(b.second);
    }
};
using PairMap = std::map<std::pair<std::string, std::string>, PairSeries, PairLess>;

PairView key_of(const SessionLabels& labels) { return {labels.client, labels.user}; }

constexpr PairGauge client_connections_gauge{
    "tether_client_connections",
    "Open client sessions (logged in, tethered to a server connection) by client and user",
    [](const PairSeries& s) { return s.open; }};
constexpr std::array<PairGauge, 3> leak_gauges{{
    {"tether_leak_suspects",
     "Sessions idle (no command in flight) longer than --leak-idle-threshold, by client and user",
     [](const PairSeries& s) { return s.leak_suspects; }},
    {"tether_client_max_idle_seconds", "The longest time any open session of this client and user has been idle",
     [](const PairSeries& s) { return s.max_idle_seconds; }},
    {"tether_idle_in_transaction", "Leak suspects holding a transaction open (they hold locks), by client and user",
     [](const PairSeries& s) { return s.idle_in_transaction; }},
}};

// One gauge family with a series per pair with open sessions; none when there is none.
void append_pair_gauge(std::vector<prometheus::MetricFamily>& out, const PairGauge& gauge, const PairMap& pairs) {
    prometheus::MetricFamily family;
    for (const auto& [key, s] : pairs) {
        if (s.open <= 0) continue;
        prometheus::ClientMetric metric;
        metric.label = {{"client", key.first}, {"user", key.second}};
        metric.gauge.value = gauge.value(s);
        family.metric.push_back(std::move(metric));
    }
    if (family.metric.empty()) return;
    family.name = gauge.name;
    family.help = gauge.help;
    family.type = prometheus::MetricType::Gauge;
    out.push_back(std::move(family));
}

}  // namespace

struct Metrics::State {
    explicit State(const MetricsConfig& config)
        : config(config),
          clients(config.max_client_labels),
          users(config.max_client_labels),
          registry(std::make_shared<prometheus::Registry>()),
          upstream_connections(prometheus::BuildGauge()
                                   .Name("tether_upstream_connections")
                                   .Help("Open connections from tether to the server, in any phase")
                                   .Register(*registry)
                                   .Add({})),
          opened(prometheus::BuildCounter()
                     .Name("tether_connections_opened_total")
                     .Help("Client sessions that logged in, by client and user")
                     .Register(*registry)),
          closed(prometheus::BuildCounter()
                     .Name("tether_connections_closed_total")
                     .Help("Client sessions that ended, by reason")
                     .Register(*registry)),
          orphans(prometheus::BuildCounter()
                      .Name("tether_orphans_closed_total")
                      .Help("Server connections closed because their client vanished without COM_QUIT")
                      .Register(*registry)
                      .Add({})),
          auth_failures(prometheus::BuildCounter()
                            .Name("tether_auth_failures_total")
                            .Help("Logins the server refused, by client and user")
                            .Register(*registry)),
          rejected(prometheus::BuildCounter()
                       .Name("tether_rejected_connections_total")
                       .Help("Connections refused by a cap: logins by client, user and limit (total, client, user); "
                             "at accept, before any login, by limit (handshakes, handshakes_per_address) with client and user empty")
                       .Register(*registry)),
          desyncs(prometheus::BuildCounter()
                      .Name("tether_protocol_desyncs_total")
                      .Help("Sessions whose command tracking lost sync and fell back to plain relaying, by reason")
                      .Register(*registry)),
          upstream_refusals(prometheus::BuildCounter()
                                .Name("tether_upstream_refusals_total")
                                .Help("Server connections refused with an ERR instead of a greeting, by the server's error "
                                      "code (1040 too many connections, 1129 host blocked, 1130 host not allowed; "
                                      "unknown: an ERR tether could not read; other: past the first 16 codes)")
                                .Register(*registry)),
          tls_failures(prometheus::BuildCounter()
                           .Name("tether_tls_handshake_failures_total")
                           .Help("TLS handshakes that failed, and server certificates that were not trusted, by side "
                                 "(client, upstream) and reason (unknown_ca, expired, name_mismatch, not_tls, peer_closed, ...)")
                           .Register(*registry)),
          duration(prometheus::BuildHistogram()
                       .Name("tether_connection_duration_seconds")
                       .Help("How long client sessions lasted, from accept to close")
                       .Register(*registry)
                       .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.1, 1, 10, 60, 300, 1800, 3600, 14400, 86400})),
          connection_limit(prometheus::BuildGauge()
                               .Name("tether_connection_limit")
                               .Help("The configured connection caps, by limit (total, client, user: the limits of "
                                     "tether_rejected_connections_total; handshakes, handshakes_per_address); only caps that are set")
                               .Register(*registry)),
          build_info(prometheus::BuildGauge()
                         .Name("tether_build_info")
                         .Help("Always 1; the version label says which tether this is")
                         .Register(*registry)),
          fds(prometheus::BuildGauge()
                  .Name("process_open_fds")
                  .Help("Number of open file descriptors")
                  .Register(*registry)
                  .Add({})),
          max_fds(prometheus::BuildGauge()
                      .Name("process_max_fds")
                      .Help("Maximum number of open file descriptors")
                      .Register(*registry)
                      .Add({})),
          accept_errors(prometheus::BuildCounter()
                            .Name("tether_accept_errors_total")
                            .Help("Client connections tether failed to accept, by errno name (EMFILE, ENFILE: out of file descriptors)")
                            .Register(*registry)),
          handshake_queue_length(prometheus::BuildGauge()
                                     .Name("tether_handshake_queue_length")
                                     .Help("Connections waiting for a handshake slot (--max-handshakes): their socket only, no server connection")
                                     .Register(*registry)
                                     .Add({})),
          handshake_queue_waits(prometheus::BuildCounter()
                                    .Name("tether_handshake_queue_waits_total")
                                    .Help("Connections that had to wait for a handshake slot (however the wait ended)")
                                    .Register(*registry)
                                    .Add({})),
          rss(prometheus::BuildGauge()
                  .Name("process_resident_memory_bytes")
                  .Help("Resident memory size in bytes")
                  .Register(*registry)
                  .Add({})) {
        build_info.Add({{"version", config.version}}).Set(1);
        for (const auto& [limit, value] : config.connection_limits) {
            if (value > 0) connection_limit.Add({{"limit", limit}}).Set(value);
        }
        for (const char* code : {"1040", "1129", "1130"}) {  // at 0 from the start: increase() sees the first one
            upstream_refusals_by_code.emplace(code, &upstream_refusals.Add({{"code", code}}));
        }
        for (const char* name : {"EMFILE", "ENFILE"}) {  // exported at 0 from the start, for rate() alerts
            accept_errors_by_name.emplace(name, &accept_errors.Add({{"error", name}}));
        }
        for (auto reason : session::all_close_reasons) {
            closed_by_reason[static_cast<std::size_t>(reason)] =
                &closed.Add({{"reason", std::string(session::close_reason_name(reason))}});
        }
        for (auto reason : session::all_desync_reasons) {
            desyncs_by_reason[static_cast<std::size_t>(reason)] =
                &desyncs.Add({{"reason", std::string(session::desync_reason_name(reason))}});
        }
    }

    // The pair's record, made if it has none. A session's labels carry theirs.
    PairSeries& series(const SessionLabels& labels) {
        if (labels.series != nullptr) return held(labels);
        if (auto found = pairs.find(key_of(labels)); found != pairs.end()) return found->second;
        auto it = pairs.try_emplace({labels.client, labels.user}).first;
        clients.acquire(labels.client);
        users.acquire(labels.user);
        it->second.opened = &opened.Add({{"client", labels.client}, {"user", labels.user}});
        return it->second;
    }
    // The record a session's labels carry: a pair is swept only once no session holds it.
    PairSeries& held(const SessionLabels& labels) {
        assert(pairs.find(key_of(labels)) != pairs.end() && &pairs.find(key_of(labels))->second == labels.series);
        return *labels.series;
    }
    // The pair's record if it has one.
    PairSeries* find(const SessionLabels& labels) {
        if (labels.series != nullptr) return &held(labels);
        auto it = pairs.find(key_of(labels));
        return it == pairs.end() ? nullptr : &it->second;
    }

    MetricsConfig config;
    attribution::LabelBudget clients;
    attribution::LabelBudget users;
    std::shared_ptr<prometheus::Registry> registry;
    prometheus::Gauge& upstream_connections;
    prometheus::Family<prometheus::Counter>& opened;
    prometheus::Family<prometheus::Counter>& closed;
    prometheus::Counter& orphans;
    prometheus::Family<prometheus::Counter>& auth_failures;
    prometheus::Family<prometheus::Counter>& rejected;
    prometheus::Family<prometheus::Counter>& desyncs;
    prometheus::Family<prometheus::Counter>& upstream_refusals;
    std::map<std::string, prometheus::Counter*, std::less<>> upstream_refusals_by_code;  // at most max_refusal_codes + 1
    prometheus::Family<prometheus::Counter>& tls_failures;
    std::map<std::string, prometheus::Counter*, std::less<>> tls_failures_by_label;  // side x a closed set of reasons
    prometheus::Histogram& duration;
    prometheus::Family<prometheus::Gauge>& connection_limit;
    prometheus::Family<prometheus::Gauge>& build_info;
    prometheus::Gauge& fds;
    prometheus::Gauge& max_fds;
    prometheus::Family<prometheus::Counter>& accept_errors;
    std::map<std::string, prometheus::Counter*, std::less<>> accept_errors_by_name;  // errno names: a handful
    prometheus::Gauge& handshake_queue_length;
    prometheus::Counter& handshake_queue_waits;
    prometheus::Gauge& rss;
    std::array<prometheus::Counter*, session::all_close_reasons.size()> closed_by_reason{};
    std::array<prometheus::Counter*, session::all_desync_reasons.size()> desyncs_by_reason{};
    PairMap pairs;
    std::map<std::string, prometheus::Counter*, std::less<>> rejected_at_accept;  // by limit: a handful
};

Metrics::Metrics(MetricsConfig config) : state_(std::make_unique<State>(config)) {}
Metrics::~Metrics() = default;

SessionLabels Metrics::hold_labels(const std::string& client, const std::string& user) {
    SessionLabels labels{state_->clients.peek(client), state_->users.peek(user)};
    PairSeries& s = state_->series(labels);
    ++s.holders;
    labels.series = &s;
    return labels;
}

void Metrics::release_labels(const SessionLabels& labels, Clock::time_point now) {
    PairSeries* s = state_->find(labels);
    if (s == nullptr || s->holders == 0) return;
    if (--s->holders == 0) s->idle_since = now;
}

void Metrics::session_opened(const SessionLabels& labels) {
    auto& s = state_->series(labels);
    s.opened->Increment();
    s.open += 1;
}

void Metrics::session_ended_open(const SessionLabels& labels) {
    PairSeries* found = state_->find(labels);
    if (found == nullptr || found->open <= 0) return;
    auto& s = *found;
    s.open -= 1;
    if (s.open <= 0) {
        // The series go; when the pair opens again its leak figures start from nothing.
        s.open = 0;
        s.leak_suspects = 0;
        s.max_idle_seconds = 0;
        s.idle_in_transaction = 0;
    }
}

void Metrics::auth_failed(const SessionLabels& labels) {
    auto& s = state_->series(labels);
    if (s.auth_failures == nullptr) {
        s.auth_failures = &state_->auth_failures.Add({{"client", labels.client}, {"user", labels.user}});
    }
    s.auth_failures->Increment();
}

void Metrics::session_closed(session::CloseReason reason, double duration_seconds) {
    state_->closed_by_reason[static_cast<std::size_t>(reason)]->Increment();
    state_->duration.Observe(duration_seconds);
}

void Metrics::rejected(const SessionLabels& labels, std::string_view limit) {
    auto& s = state_->series(labels);
    auto it = s.rejected.find(limit);
    if (it == s.rejected.end()) {
        auto* counter = &state_->rejected.Add({{"client", labels.client}, {"user", labels.user}, {"limit", std::string(limit)}});
        it = s.rejected.emplace(std::string(limit), counter).first;
    }
    it->second->Increment();
}

void Metrics::rejected_at_accept(std::string_view limit) {
    auto it = state_->rejected_at_accept.find(limit);
    if (it == state_->rejected_at_accept.end()) {
        auto* counter = &state_->rejected.Add({{"client", ""}, {"user", ""}, {"limit", std::string(limit)}});
        it = state_->rejected_at_accept.emplace(std::string(limit), counter).first;
    }
    it->second->Increment();
}

void Metrics::accept_failed(std::string_view error) {
    auto it = state_->accept_errors_by_name.find(error);
    if (it == state_->accept_errors_by_name.end()) {
        auto* counter = &state_->accept_errors.Add({{"error", std::string(error)}});
        it = state_->accept_errors_by_name.emplace(std::string(error), counter).first;
    }
    it->second->Increment();
}

void Metrics::set_leak_stats(const SessionLabels& labels, double suspects, double max_idle_seconds,
                             double idle_in_transaction) {
    PairSeries* s = state_->find(labels);
    if (s == nullptr || s->open <= 0) return;
    s->leak_suspects = suspects;
    s->max_idle_seconds = max_idle_seconds;
    s->idle_in_transaction = idle_in_transaction;
}

void Metrics::orphan_closed() { state_->orphans.Increment(); }
void Metrics::desynced(session::DesyncReason reason) {
    state_->desyncs_by_reason[static_cast<std::size_t>(reason)]->Increment();
}
void Metrics::upstream_opened() { state_->upstream_connections.Increment(); }
void Metrics::upstream_closed() { state_->upstream_connections.Decrement(); }
void Metrics::upstream_refused(std::optional<std::uint16_t> code) {
    // The codes come from the server (or whatever answers on its address):
    // a bounded set of series, the rest counted as "other".
    constexpr std::size_t max_refusal_codes = 16;
    const std::string label = code ? std::to_string(*code) : std::string("unknown");
    auto& by_code = state_->upstream_refusals_by_code;
    auto it = by_code.find(label);
    if (it == by_code.end()) {
        const std::string& key = by_code.size() < max_refusal_codes ? label : std::string("other");
        it = by_code.find(key);
        if (it == by_code.end()) it = by_code.emplace(key, &state_->upstream_refusals.Add({{"code", key}})).first;
    }
    it->second->Increment();
}
void Metrics::tls_handshake_failed(std::string_view side, std::string_view reason) {
    // Both come from tether's own closed sets; the bound is a guard, not a policy.
    constexpr std::size_t max_series = 64;
    std::string key = std::string(side) + '/' + std::string(reason);
    auto& by_label = state_->tls_failures_by_label;
    auto it = by_label.find(key);
    if (it == by_label.end()) {
        if (by_label.size() >= max_series) {
            key = std::string(side) + "/other";
            reason = "other";
            it = by_label.find(key);
        }
        if (it == by_label.end()) {
            it = by_label.emplace(key, &state_->tls_failures.Add({{"side", std::string(side)}, {"reason", std::string(reason)}}))
                     .first;
        }
    }
    it->second->Increment();
}
prometheus::Registry& Metrics::registry() { return *state_->registry; }

void Metrics::handshake_queue_joined() {
    state_->handshake_queue_waits.Increment();
    state_->handshake_queue_length.Increment();
}
void Metrics::handshake_queue_left() { state_->handshake_queue_length.Decrement(); }

void Metrics::sweep(Clock::time_point now) {
    for (auto it = state_->pairs.begin(); it != state_->pairs.end();) {
        auto& s = it->second;
        if (s.holders == 0 && s.open <= 0 && now - s.idle_since >= state_->config.series_linger) {
            state_->opened.Remove(s.opened);
            if (s.auth_failures != nullptr) state_->auth_failures.Remove(s.auth_failures);
            for (auto& [limit, counter] : s.rejected) state_->rejected.Remove(counter);
            state_->clients.release(it->first.first);
            state_->users.release(it->first.second);
            it = state_->pairs.erase(it);
        } else {
            ++it;
        }
    }
}

std::string Metrics::render() {
    state_->fds.Set(open_fds());
    state_->max_fds.Set(max_fds());
    state_->rss.Set(resident_bytes());
    std::vector<prometheus::MetricFamily> families = state_->registry->Collect();
    // Where prometheus-cpp put them when they were its families: the registry
    // lists counters, then gauges, then histograms, each kind in the order
    // registered; the client gauge came first of the gauges, the leak gauges
    // after tether_upstream_connections (an unlabelled gauge: always there).
    std::vector<prometheus::MetricFamily> pair_families;
    append_pair_gauge(pair_families, client_connections_gauge, state_->pairs);
    const std::size_t leak_first = pair_families.size();
    for (const auto& gauge : leak_gauges) append_pair_gauge(pair_families, gauge, state_->pairs);
    auto upstream = std::find_if(families.begin(), families.end(), [](const prometheus::MetricFamily& f) {
        return f.name == "tether_upstream_connections";
    });
    if (upstream == families.end()) upstream = std::prev(families.end());
    const auto moved = [&](std::size_t from, std::size_t to) {
        return std::pair{std::make_move_iterator(pair_families.begin() + static_cast<std::ptrdiff_t>(from)),
                         std::make_move_iterator(pair_families.begin() + static_cast<std::ptrdiff_t>(to))};
    };
    const auto [leak_begin, leak_end] = moved(leak_first, pair_families.size());
    upstream = families.insert(upstream + 1, leak_begin, leak_end) - 1;
    const auto [clients_begin, clients_end] = moved(0, leak_first);
    families.insert(upstream, clients_begin, clients_end);
    return prometheus::TextSerializer().Serialize(families);
}

double Metrics::client_connections(const SessionLabels& labels) const {
    auto it = state_->pairs.find(key_of(labels));
    return it == state_->pairs.end() ? 0 : it->second.open;
}

std::vector<PairStatus> Metrics::pair_statuses() const {
    std::vector<PairStatus> out;
    for (const auto& [key, s] : state_->pairs) {
        double rejected = 0;
        for (const auto& [limit, counter] : s.rejected) rejected += counter->Value();
        if (s.open <= 0 && rejected <= 0) continue;
        out.push_back({key.first, key.second, s.open, s.leak_suspects, s.idle_in_transaction, s.max_idle_seconds, rejected});
    }
    return out;
}

}  // namespace tether::metrics

// The janitor's once-a-second pass over the sessions: leak suspects, idle
// policies, the per-client leak gauges and the periodic leak report.
#include <cstdio>
#include <optional>
#include <string>

#include "tether/attribution/suspect_statements.hpp"
#include "tether/io/proxy.hpp"
#include "tether/util/log.hpp"

namespace tether::io {

namespace {

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", s);
    return buf;
}

std::string attributes_text(const codec::Login* login) {
    std::string out;
    if (login == nullptr) return out;
    for (const auto& [key, value] : login->attributes) {
        if (!out.empty()) out += ',';
        out.append(key);
        out += '=';
        out.append(value);
    }
    return out;
}

}  // namespace

void Proxy::scan_sessions(session::Clock::time_point now) {
    attribution::LeakTally tally;
    // What the suspects last ran is gathered only for a report that is due.
    const bool report_due = now - last_report_ >= config_.leak_report_interval;
    attribution::SuspectStatements suspect_statements;
    std::vector<Connection*> to_close;
    for (const auto& [id, connection] : connections_) {
        if (!connection->counted_open()) continue;  // not logged in (yet), or already closing
        const metrics::SessionLabels& labels = *connection->labels();  // counted open: attributed
        const session::Session& s = connection->session();
        if (s.phase() != session::Phase::command && s.phase() != session::Phase::relaying) continue;
        attribution::SessionIdleState state;
        state.tracked = s.tracking();
        state.idle = !s.command_in_flight();
        state.in_transaction = s.in_transaction();
        state.idle_for = std::chrono::duration_cast<std::chrono::milliseconds>(now - s.last_activity());
        const attribution::IdleJudgement judgement = attribution::judge_idle(state, idle_policy_);
        tally.add({labels.client, labels.user}, state, judgement);
        const bool log_suspect = judgement.suspect && !connection->suspect_logged_;
        // Fingerprinted at most once a scan, and only for a report or a log line that names it.
        std::optional<std::string> statement;
        if (judgement.suspect && (report_due || log_suspect)) statement = s.tracker().statements().fingerprint();
        if (judgement.suspect && report_due) {
            suspect_statements.add({labels.client, labels.user}, statement, s.tracker().commands());
        }
        if (log_suspect) {
            connection->suspect_logged_ = true;
            const codec::Login* login = s.login();
            log::warn("leak_suspect",
                      {{"id", std::to_string(id)},
                       {"client", labels.client},
                       {"user", login != nullptr ? login->user : std::string()},
                       {"database", std::string(s.current_database())},
                       {"peer", connection->peer()},
                       {"upstream_thread_id", std::to_string(s.upstream_thread_id())},
                       {"age_seconds", seconds(std::chrono::duration<double>(now - s.started_at()).count())},
                       {"idle_seconds", seconds(std::chrono::duration<double>(state.idle_for).count())},
                       {"in_transaction", state.in_transaction ? "true" : "false"},
                       {"commands", std::to_string(s.tracker().commands())},
                       {"last_statement", statement ? std::string_view(*statement) : std::string_view()},
                       {"attrs", attributes_text(login)}});
        } else if (!judgement.suspect) {
            connection->suspect_logged_ = false;  // active again: a later idle spell is reported anew
        }
        if (judgement.close) to_close.push_back(connection);
    }
    for (const auto& [labels, stats] : tally.pairs()) {
        metrics_.set_leak_stats({labels.first, labels.second}, static_cast<double>(stats.suspects),
                                stats.max_idle_seconds, static_cast<double>(stats.idle_in_transaction));
    }
    if (tally.suspects() > 0 && report_due) {
        last_report_ = now;
        const auto rows = leak_reporter_.report(tally);
        log::warn("leak_report", {{"suspects", std::to_string(tally.suspects())},
                                  {"clients", std::to_string(tally.pairs().size())},
                                  {"sessions", std::to_string(connections_.size())}});
        for (const auto& row : rows) {
            log::warn("leak_report_client",
                      {{"client", row.labels.first},
                       {"user", row.labels.second},
                       {"open", std::to_string(row.stats.open)},
                       {"growth", (row.growth >= 0 ? "+" : "") + std::to_string(row.growth)},
                       {"suspects", std::to_string(row.stats.suspects)},
                       {"idle_in_transaction", std::to_string(row.stats.idle_in_transaction)},
                       {"max_idle_seconds", seconds(row.stats.max_idle_seconds)}});
            for (const auto& line : suspect_statements.top(row.labels)) {
                log::warn("leak_report_statement", {{"client", row.labels.first},
                                                    {"user", row.labels.second},
                                                    {"suspects", std::to_string(line.suspects)},
                                                    {"of", std::to_string(row.stats.suspects)},
                                                    {"statement", line.statement}});
            }
        }
    }
    // Closing may finish a connection; nothing above is touched afterwards.
    for (Connection* connection : to_close) {
        const session::Session& s = connection->session();
        log::info("idle_close", {{"id", std::to_string(connection->id())},
                                 {"client", connection->account().client_label()},
                                 {"in_transaction", s.in_transaction() ? "true" : "false"},
                                 {"idle_seconds", seconds(std::chrono::duration<double>(now - s.last_activity()).count())}});
        connection->close(session::CloseReason::idle_timeout);
    }
}

}  // namespace tether::io

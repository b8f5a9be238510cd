// The handshake queue on the loop: connections over the handshake caps wait,
// holding only their client socket, until a slot frees (oldest admissible
// first) or --handshake-timeout from accept passes; a full queue refuses.
#include <cstdio>
#include <string>

#include "tether/io/proxy.hpp"
#include "tether/util/log.hpp"

namespace tether::io {

namespace {

std::string seconds_text(std::chrono::milliseconds d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3fs", std::chrono::duration<double>(d).count());
    return buf;
}

}  // namespace

void Proxy::wait_for_handshake_slot(Connection& connection, std::string peer, const std::string& address,
                                    const attribution::AdmissionVerdict& verdict) {
    connection.peer_ = peer;  // for log lines
    auto joined = handshake_queue_.join(connection.id(), address, connection.session().started_at());
    if (!joined.queued) {
        std::string message = verdict.message;
        if (handshake_queue_.capacity() > 0) {
            message += "; the wait queue (--max-handshake-queue " + std::to_string(handshake_queue_.capacity()) +
                       ") is full";
        }
        attribution::AdmissionVerdict full = verdict;
        full.message = message;
        metrics_.rejected_at_accept(attribution::limit_name(verdict.limit));
        log_rejection(connection, full);
        connection.start_refused(std::move(peer), ledger::admission_of(full));
        return;
    }
    metrics_.handshake_queue_joined();
    log::debug("handshake_queued", {{"id", std::to_string(connection.id())}, {"peer", peer},
                                    {"queued", std::to_string(handshake_queue_.size())}});
    connection.start_waiting(std::move(peer));
    if (joined.evicted) {
        // Its place went to an address with fewer waiters (HandshakeQueue::join).
        metrics_.handshake_queue_left();
        auto it = connections_.find(joined.evicted->id);
        if (it != connections_.end()) {
            refuse_waiter(*it->second, joined.evicted->address,
                          "the wait queue (--max-handshake-queue " + std::to_string(handshake_queue_.capacity()) +
                              ") is full and " + joined.evicted->address + " holds the most places in it");
        }
    }
}

void Proxy::leave_queue(Connection& connection) {
    if (handshake_queue_.remove(connection.id())) metrics_.handshake_queue_left();
}

// Refuses a connection whose wait ended without a slot, with the cap that
// holds it back now, counted as a refusal at accept like one refused at once.
void Proxy::refuse_waiter(Connection& connection, const std::string& address, const std::string& why) {
    attribution::AdmissionVerdict verdict = ledger_.handshake_verdict(address);
    if (verdict.allowed) {  // not expected (free slots go to waiters at once); still a refusal to explain
        verdict = attribution::AdmissionVerdict::refused(attribution::Limit::handshakes, 1040, "08004",
                                                         "tether: too many connections still logging in");
    }
    verdict.message += "; " + why;
    metrics_.rejected_at_accept(attribution::limit_name(verdict.limit));
    log_rejection(connection, verdict);
    connection.refuse_waiting(ledger::admission_of(verdict));
}

// Called whenever a slot frees. Starting a waiter may finish it at once (a
// synchronous failure), which frees its slot and comes back here: the outer
// call's loop hands that slot on.
void Proxy::admit_waiters() {
    if (admitting_waiters_ || closing_all_) return;  // shutting down: every waiter is being closed
    admitting_waiters_ = true;
    while (auto waiter = handshake_queue_.take_admissible(ledger_.handshakes())) {
        metrics_.handshake_queue_left();
        auto it = connections_.find(waiter->id);
        if (it == connections_.end()) continue;  // not expected: a finished connection leaves the queue
        Connection& connection = *it->second;
        ledger_.handshake_started(connection.account(), waiter->address);
        connection.start_after_wait();
    }
    admitting_waiters_ = false;
}

// Their whole handshake budget went waiting: a slot now would only end in a
// client_timeout after taking a server connection.
void Proxy::expire_waiters(session::Clock::time_point now) {
    const auto cutoff = now - config_.handshake_timeout;
    while (auto waiter = handshake_queue_.take_expired(cutoff)) {
        metrics_.handshake_queue_left();
        auto it = connections_.find(waiter->id);
        if (it == connections_.end()) continue;
        refuse_waiter(*it->second, waiter->address,
                      "no slot freed within --handshake-timeout " + seconds_text(config_.handshake_timeout));
    }
}

}  // namespace tether::io

// Driving the HandshakeFinisher once the client of an unfinished handshake is gone, and what its steps tell the owner.
#include "handshake_common.hpp"
#include "tether/session/handshake_finisher.hpp"
#include "tether/session/session.hpp"

namespace tether::session {

void Session::finish_upstream(Actions& out) {
    if (!upstream_open_ && !upstream_connecting_) {
        enter(Phase::closed);
        return;
    }
    enter(Phase::finishing_upstream);
    detail::release(client_pending_);
    detail::release(login_packet_);
    early_client_bytes_.release();
    if (greeting_) server_version_ = greeting_->server_version;  // the finisher takes the greeting
    finisher_ = std::make_unique<HandshakeFinisher>(config_.reserved_user, turn_, std::move(greeting_),
                                                    std::move(upstream_pending_), now_ + config_.handshake_timeout,
                                                    upstream_ssl_capabilities_,
                                                    !upstream_tls_ && config_.upstream_tls != UpstreamTls::disabled);
    detail::release(upstream_pending_);
    drive_finish({}, out);
}

void Session::drive_finish(codec::Bytes server_bytes, Actions& out) {
    if (!upstream_open_) return;  // still connecting; on_upstream_connected comes back here
    if (upstream_tls_pending_) return;  // on_upstream_tls_ready (or _failed) comes back here
    const auto step = finisher_->advance(server_bytes, out.to_upstream);
    if (step.refused) {
        // Still worth saying why: a readiness probe reports it.
        out.raise(UpstreamRefused{step.refusal});
    } else if (step.bad_greeting) {
        out.raise(UpstreamProblem{"malformed greeting from upstream"});
    }
    if (step.greeted) adopt_greeting(*finisher_->greeting(), out);
    if (step.start_tls) {
        upstream_tls_ = true;
        upstream_tls_pending_ = true;
        out.start_upstream_tls = true;
    }
    if (step.problem != nullptr) out.raise(UpstreamProblem{std::string("could not finish the server handshake: ") + step.problem});
    if (step.done) {
        finisher_.reset();
        end_after_client(out);
    }
}

// The server closed while tether finished its handshake: said when it never
// greeted (a probe reports that); after a greeting it is an ordinary end.
void Session::finish_lost_upstream(Actions& out) {
    if (finisher_ && finisher_->greeting() == nullptr) {
        out.raise(UpstreamProblem{"upstream " + config_.upstream_name + " closed the connection before its greeting"});
    }
    finisher_.reset();
    enter(Phase::closed);
}

// The finish's deadline (--handshake-timeout from when it began) passed.
void Session::finish_timed_out(Actions& out) {
    const std::string limit = detail::duration_text(config_.handshake_timeout);
    if (finisher_->greeting() == nullptr) {
        out.raise(UpstreamProblem{"upstream " + config_.upstream_name + " sent no greeting within " + limit});
    } else {
        out.raise(UpstreamProblem{"the server did not end the abandoned handshake within " + limit});
    }
    finisher_.reset();
    close_upstream_side(out);
    enter(Phase::closed);
}

}  // namespace tether::session

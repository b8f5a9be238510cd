// TCP keepalive that notices a vanished peer host within a bounded time.
#pragma once

#include <uv.h>

#include <chrono>

namespace tether::io {

// Probes start after `idle` without traffic, every max(1s, idle/3), and give up
// after 3 unanswered probes; TCP_USER_TIMEOUT bounds unacknowledged writes the
// same way. A host that vanished without FIN or RST (a pod on a dead node, a
// partition) then surfaces as a read error within about 2 x `idle`, instead of
// the kernel defaults' two hours. All five options are set on the descriptor
// directly (uv_tcp_keepalive would set some of them twice). `idle` of 0 leaves
// keepalive off.
void enable_keepalive(uv_tcp_t* tcp, std::chrono::milliseconds idle);
// The same on a descriptor; on a listening socket it holds for every socket
// accepted from it (see Listener::start).
void enable_keepalive(uv_os_fd_t fd, std::chrono::milliseconds idle);

// TCP_USER_TIMEOUT also bounds zero-window probing: a peer that is alive but
// reads slowly (a streaming consumer that pauses) would be cut after it. While
// tether holds bytes the peer has not taken yet, the timeout is lifted (the
// kernel's own retransmission limits apply); it is set again once the peer has
// caught up.
void suspend_user_timeout(uv_tcp_t* tcp);
void restore_user_timeout(uv_tcp_t* tcp, std::chrono::milliseconds idle);

}  // namespace tether::io

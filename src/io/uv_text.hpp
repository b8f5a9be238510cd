// Words for libuv's errors and socket addresses, in log lines and ERR messages (io only).
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <string>

namespace tether::io {

// "connection refused (ECONNREFUSED)": the words, and the name operators grep for.
inline std::string uv_message(int status) { return std::string(uv_strerror(status)) + " (" + uv_err_name(status) + ")"; }

// 10.0.0.7 or [fd00::7], as a resolved upstream address is named.
inline std::string address_text(const sockaddr_storage& storage) {
    char text[INET6_ADDRSTRLEN] = {};
    if (storage.ss_family == AF_INET6) {
        uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&storage), text, sizeof text);
        return std::string("[") + text + "]";
    }
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&storage), text, sizeof text);
    return text;
}

}  // namespace tether::io

// OpenSSL's thread-local error queue turned into one message (private to the tls layer).
#pragma once

#include <string>
#include <string_view>

namespace tether::tls::detail {

// "WHAT FILE: REASON[; REASON...]" with OpenSSL's reason strings, and the
// queue emptied so the next call starts clean. file may be empty.
std::string openssl_error(std::string_view what, std::string_view file = {});
// Empties the queue (before a call whose errors are read afterwards).
void clear_openssl_errors();

}  // namespace tether::tls::detail

// The OpenSSL error queue as a message (see openssl_error.hpp).
#include "openssl_error.hpp"

#include <openssl/err.h>

namespace tether::tls::detail {

std::string openssl_error(std::string_view what, std::string_view file) {
    std::string message(what);
    if (!file.empty()) {
        message += ' ';
        message += file;
    }
    // Reasons only (not ERR_error_string's "error:0A...:SSL routines:..."
    // prefix): they are what an operator can act on. The first few are
    // enough; PEM failures can queue a dozen nested ones.
    int shown = 0;
    for (unsigned long code = ERR_get_error(); code != 0; code = ERR_get_error()) {
        if (shown++ >= 3) continue;
        const char* reason = ERR_reason_error_string(code);
        message += shown == 1 ? ": " : "; ";
        message += reason != nullptr ? reason : "unknown OpenSSL error";
    }
    return message;
}

void clear_openssl_errors() { ERR_clear_error(); }

}  // namespace tether::tls::detail

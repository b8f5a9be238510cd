// Notices that the certificate or key file of the client leg changed and
// loads the new pair; the caller polls it (from its ticker or on SIGHUP).
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <variant>

#include "tether/tls/server_context.hpp"
#include "tether/util/file_identity.hpp"

namespace tether::tls {

using util::FileIdentity;

class CertificateReloader {
public:
    struct Unchanged {};
    struct Reloaded {
        std::shared_ptr<const ServerContext> context;
    };
    struct Failed {
        std::string error;  // for the log; the caller keeps its current context
    };
    using Outcome = std::variant<Unchanged, Reloaded, Failed>;

    // Remembers the files as they are now. Make it before loading the first
    // context from the same options: a change in between is then seen (and
    // loaded, at worst once too often) at the first poll.
    explicit CertificateReloader(ServerOptions options);

    // Compares the files with what was last loaded (or last tried). Changed:
    // loads them; a pair that does not load (say the certificate was replaced
    // and the key not yet) is Failed and tried again at the next poll, even
    // if nothing changes in between. force (SIGHUP) loads whatever the files say.
    Outcome poll(bool force = false);

private:
    bool files_changed();

    ServerOptions options_;
    FileIdentity certificate_{};
    FileIdentity key_{};
    bool retry_ = false;  // the last load failed: try again even if nothing moved
};

}  // namespace tether::tls

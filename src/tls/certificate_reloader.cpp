// Reloading the client leg's certificate when its files change (see certificate_reloader.hpp).
#include "tether/tls/certificate_reloader.hpp"

namespace tether::tls {


CertificateReloader::CertificateReloader(ServerOptions options)
    : options_(std::move(options)),
      certificate_(util::file_identity(options_.certificate_file)),
      key_(util::file_identity(options_.key_file)) {}

bool CertificateReloader::files_changed() {
    const FileIdentity certificate = util::file_identity(options_.certificate_file);
    const FileIdentity key = util::file_identity(options_.key_file);
    const bool changed = certificate != certificate_ || key != key_;
    certificate_ = certificate;
    key_ = key;
    return changed;
}

CertificateReloader::Outcome CertificateReloader::poll(bool force) {
    const bool changed = files_changed();
    if (!changed && !retry_ && !force) return Unchanged{};
    auto loaded = ServerContext::load(options_);
    if (!loaded) {
        // Files replaced one after the other (certificate, then key) do not
        // match in between: try once more at the next poll even if nothing
        // moves, then wait for the next change instead of failing every poll.
        retry_ = changed || force;
        return Failed{loaded.error()};
    }
    retry_ = false;
    return Reloaded{std::move(loaded.value())};
}

}  // namespace tether::tls

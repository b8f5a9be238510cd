// Reloading the client leg's certificate when its files change (see certificate_reloader.hpp).
#include "tether/tls/certificate_reloader.hpp"

#include <sys/stat.h>

namespace tether::tls {

namespace {
// stat(), not lstat(): through the Secret volume's symlinks to the file that
// is there now. A file that is missing for a moment reads as all zeros,
// which differs from any real file, so its return counts as a change.
FileIdentity identify(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
            static_cast<std::int64_t>(st.st_size)};
}
}  // namespace

CertificateReloader::CertificateReloader(ServerOptions options)
    : options_(std::move(options)),
      certificate_(identify(options_.certificate_file)),
      key_(identify(options_.key_file)) {}

bool CertificateReloader::files_changed() {
    const FileIdentity certificate = identify(options_.certificate_file);
    const FileIdentity key = identify(options_.key_file);
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

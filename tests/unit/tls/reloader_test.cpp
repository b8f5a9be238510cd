// Reloading the client leg's certificate: files replaced (by rename, in
// place, or by a Kubernetes Secret's symlink swap) give a new context; a pair
// that does not match yet is an error, the old context stays in use.
#include <doctest/doctest.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <variant>

#include "engine_pair.hpp"
#include "test_certs.hpp"
#include "tether/tls/certificate_reloader.hpp"

using namespace tether;
namespace fs = std::filesystem;
using Reloader = tls::CertificateReloader;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "tether-tls-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string contents(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// Overwrites `to` with the bytes of `from`, keeping its inode, then gives it
// a later mtime: file times are as coarse as the kernel's tick, and two
// writes within one tick would look alike.
void rewrite_in_place(const fs::path& from, const fs::path& to) {
    const std::string bytes = contents(from);
    std::ofstream(to, std::ios::binary | std::ios::trunc) << bytes;
    struct stat st {};
    REQUIRE(::stat(to.c_str(), &st) == 0);
    const timespec times[2] = {st.st_atim, {st.st_mtim.tv_sec + 1, st.st_mtim.tv_nsec}};
    REQUIRE(::utimensat(AT_FDCWD, to.c_str(), times, 0) == 0);
}

// Replaces `to` by a new file renamed over it (new inode), as `mv` and most deploy tools do.
void replace_by_rename(const fs::path& from, const fs::path& to) {
    const fs::path next = to.string() + ".new";
    fs::copy_file(from, next, fs::copy_options::overwrite_existing);
    fs::rename(next, to);
}

// The certificate a context presents.
bool presents(const tls::ServerContext& context, const std::string& certificate_file) {
    FILE* file = std::fopen(certificate_file.c_str(), "r");
    REQUIRE(file != nullptr);
    X509* expected = PEM_read_X509(file, nullptr, nullptr, nullptr);
    std::fclose(file);
    REQUIRE(expected != nullptr);
    const bool same = X509_cmp(SSL_CTX_get0_certificate(context.native()), expected) == 0;
    X509_free(expected);
    return same;
}

std::shared_ptr<const tls::ServerContext> reloaded(Reloader::Outcome outcome) {
    auto* reload = std::get_if<Reloader::Reloaded>(&outcome);
    if (reload == nullptr) {
        if (auto* failed = std::get_if<Reloader::Failed>(&outcome)) FAIL_CHECK("reload failed: " << failed->error);
        return nullptr;
    }
    return reload->context;
}

}  // namespace

TEST_CASE("files replaced by rename or rewritten in place give a new context") {
    TempDir dir;
    const fs::path cert = dir.path / "tls.crt";
    const fs::path key = dir.path / "tls.key";
    fs::copy_file(test::cert_file("tether"), cert);
    fs::copy_file(test::key_file("tether"), key);
    const tls::ServerOptions options = test::server_options(cert, key);
    auto current = tls::ServerContext::load(options).value();
    Reloader reloader(options);
    CHECK(std::holds_alternative<Reloader::Unchanged>(reloader.poll()));

    SUBCASE("by rename") {
        replace_by_rename(test::cert_file("tether-next"), cert);
        replace_by_rename(test::key_file("tether-next"), key);
    }
    SUBCASE("in place") {
        rewrite_in_place(test::cert_file("tether-next"), cert);
        rewrite_in_place(test::key_file("tether-next"), key);
    }
    auto next = reloaded(reloader.poll());
    REQUIRE(next != nullptr);
    CHECK(presents(*next, test::cert_file("tether-next")));
    CHECK(presents(*current, test::cert_file("tether")));  // the old one is untouched
    CHECK(std::holds_alternative<Reloader::Unchanged>(reloader.poll()));

    // A session open on the old context keeps it; new ones get the new one.
    test::EnginePair open(test::client_context(tls::ClientMode::verify_identity), current);
    current.reset();
    REQUIRE(open.handshake());
    test::EnginePair fresh(test::client_context(tls::ClientMode::verify_identity), next);
    REQUIRE(fresh.handshake());
}

TEST_CASE("a certificate replaced before its key: an error, then the new pair") {
    TempDir dir;
    const fs::path cert = dir.path / "tls.crt";
    const fs::path key = dir.path / "tls.key";
    fs::copy_file(test::cert_file("tether"), cert);
    fs::copy_file(test::key_file("tether"), key);
    Reloader reloader(test::server_options(cert, key));

    replace_by_rename(test::cert_file("tether-next"), cert);
    auto outcome = reloader.poll();
    auto* failed = std::get_if<Reloader::Failed>(&outcome);
    REQUIRE(failed != nullptr);
    CHECK(failed->error.find("mismatch") != std::string::npos);
    CHECK(failed->error.find(key.string()) != std::string::npos);
    // Tried once more with nothing changed (the key may be on its way), then
    // left alone until the files move again: no error every poll.
    CHECK(std::holds_alternative<Reloader::Failed>(reloader.poll()));
    CHECK(std::holds_alternative<Reloader::Unchanged>(reloader.poll()));

    replace_by_rename(test::key_file("tether-next"), key);
    auto next = reloaded(reloader.poll());
    REQUIRE(next != nullptr);
    CHECK(presents(*next, test::cert_file("tether-next")));
}

TEST_CASE("a missing file is an error until it is back") {
    TempDir dir;
    const fs::path cert = dir.path / "tls.crt";
    const fs::path key = dir.path / "tls.key";
    fs::copy_file(test::cert_file("tether"), cert);
    fs::copy_file(test::key_file("tether"), key);
    Reloader reloader(test::server_options(cert, key));
    fs::remove(key);
    CHECK(std::holds_alternative<Reloader::Failed>(reloader.poll()));
    fs::copy_file(test::key_file("tether"), key);
    CHECK(reloaded(reloader.poll()) != nullptr);
}

TEST_CASE("a Kubernetes Secret's ..data symlink swap is a change") {
    // The kubelet's layout: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>;
    // an update writes a new timestamped directory and renames a new
    // ..data symlink over the old one, atomically.
    TempDir dir;
    auto version = [&](const std::string& name, const std::string& source) {
        fs::create_directory(dir.path / name);
        fs::copy_file(test::cert_file(source), dir.path / name / "tls.crt");
        fs::copy_file(test::key_file(source), dir.path / name / "tls.key");
    };
    version("..2026_12_01_10_00_00.1", "tether");
    fs::create_directory_symlink("..2026_12_01_10_00_00.1", dir.path / "..data");
    fs::create_symlink("..data/tls.crt", dir.path / "tls.crt");
    fs::create_symlink("..data/tls.key", dir.path / "tls.key");
    const fs::path cert = dir.path / "tls.crt";
    const fs::path key = dir.path / "tls.key";
    Reloader reloader(test::server_options(cert, key));
    CHECK(std::holds_alternative<Reloader::Unchanged>(reloader.poll()));

    version("..2026_12_01_11_00_00.2", "tether-next");
    fs::create_directory_symlink("..2026_12_01_11_00_00.2", dir.path / "..data_tmp");
    fs::rename(dir.path / "..data_tmp", dir.path / "..data");
    fs::remove_all(dir.path / "..2026_12_01_10_00_00.1");

    auto next = reloaded(reloader.poll());
    REQUIRE(next != nullptr);
    CHECK(presents(*next, test::cert_file("tether-next")));
    CHECK(std::holds_alternative<Reloader::Unchanged>(reloader.poll()));
}

TEST_CASE("force (SIGHUP) reloads unchanged files") {
    Reloader reloader(test::server_options(test::cert_file("tether"), test::key_file("tether")));
    CHECK(std::holds_alternative<Reloader::Unchanged>(reloader.poll()));
    CHECK(reloaded(reloader.poll(true)) != nullptr);
}

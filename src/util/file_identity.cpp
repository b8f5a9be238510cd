// Whether a file was replaced (see file_identity.hpp).
#include "tether/util/file_identity.hpp"

#include <sys/stat.h>

namespace tether::util {

// stat(), not lstat(): through the Secret volume's symlinks to the file that is there now.
FileIdentity file_identity(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
            static_cast<std::int64_t>(st.st_size)};
}

}  // namespace tether::util

// Whether a file was replaced: what stat() says of it, following symlinks.
#pragma once

#include <cstdint>
#include <string>

namespace tether::util {

// A Kubernetes Secret volume replaces its files by pointing the `..data`
// symlink at a new directory, so the path stays the same while the inode and
// mtime change. A file that is missing reads as all zeros, which differs from
// any real file, so its return counts as a change.
struct FileIdentity {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t size = 0;
    bool operator==(const FileIdentity&) const = default;
};

FileIdentity file_identity(const std::string& path);

}  // namespace tether::util

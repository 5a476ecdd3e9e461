#include "io/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {
namespace {

std::string directory_of(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  std::string pattern = path_ + ".tmp-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) fail("cannot create a temporary file next to it");
  temp_path_ = name.data();
  ::fchmod(fd_, 0644);  // mkstemp makes 0600; a checkpoint is an ordinary file
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void AtomicFileWriter::fail(const std::string& what) const {
  throw FileError(fmt::format("[file] {}: {}: {}", path_, what, std::strerror(errno)));
}

void AtomicFileWriter::write(const void* data, std::size_t size) {
  if (fd_ < 0) throw FileError(fmt::format("[file] {}: write after commit", path_));
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = EIO;
    if (n <= 0) fail("write failed");
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  if (fd_ < 0) throw FileError(fmt::format("[file] {}: committed twice", path_));
  if (::fsync(fd_) != 0) fail("fsync failed");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("close failed");
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) fail("rename failed");
  temp_path_.clear();  // now the target: the destructor must not remove it
  const int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY);
  if (dir < 0) fail("cannot open its directory to fsync it");
  const int synced = ::fsync(dir);
  ::close(dir);
  if (synced != 0) fail("fsync of its directory failed");
}

}  // namespace attograd

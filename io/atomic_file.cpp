#include "io/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
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

// Removes "<path>.tmp-XXXXXX" files that a killed save left behind: those no
// writer holds locked (a writer locks its temporary file until it is done;
// the lock dies with the process) and older than a minute (the instant
// between another writer's mkstemp and its flock).
void remove_stale_temporaries(const std::string& path, const std::string& own) {
  namespace fs = std::filesystem;
  const std::string prefix = fs::path(path).filename().string() + ".tmp-";
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(directory_of(path), ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() != prefix.size() + 6 || name.compare(0, prefix.size(), prefix) != 0 || e.path() == fs::path(own))
      continue;
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::time(nullptr) - st.st_mtime < 60) continue;
    const int fd = ::open(e.path().c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(e.path().c_str());
    ::close(fd);
  }
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  std::string pattern = path_ + ".tmp-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) fail("cannot create a temporary file next to it");
  temp_path_ = name.data();
  ::flock(fd_, LOCK_EX);  // held until close: tells remove_stale_temporaries this file is in use
  ::fchmod(fd_, 0644);  // mkstemp makes 0600; a checkpoint is an ordinary file
  remove_stale_temporaries(path_, temp_path_);
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

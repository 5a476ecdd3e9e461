#include "app/progress.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "io/regular_file.hpp"

namespace attograd {

ProgressBar::ProgressBar(std::string label, std::int64_t total, bool quiet)
    : label_(std::move(label)),
      total_(std::max<std::int64_t>(total, 1)),
      quiet_(quiet),
      tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(std::int64_t done, const std::string& stats) {
  if (quiet_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double left = done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0;
  const auto secs = static_cast<int>(left);
  const std::string eta = fmt::format("{}:{:02d} left", secs / 60, secs % 60);
  if (tty_) {
    constexpr int width = 24;
    const auto filled = static_cast<int>(width * done / total_);
    fmt::print(stderr, "\r{} [{}{}] {:>{}}/{}  {}  {}\x1b[K", label_, std::string(static_cast<std::size_t>(filled), '#'),
               std::string(static_cast<std::size_t>(width - filled), '-'), done, std::to_string(total_).size(), total_,
               stats, eta);
    std::fflush(stderr);
    return;
  }
  const std::int64_t decile = done * 10 / total_;
  if (decile != last_reported_ || done == total_) {
    last_reported_ = decile;
    fmt::print(stderr, "{} {}/{}  {}  {}\n", label_, done, total_, stats, eta);
  }
}

void ProgressBar::finish() {
  if (!quiet_ && tty_) fmt::print(stderr, "\n");
}

void MetricsWriter::open(const std::string& path, bool append) {
  if (path.empty()) return;
  struct stat st {};  // a FIFO would block the open until a reader appears
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw FileError(fmt::format("[metrics] '{}': not a regular file ({})", path, file_kind(st.st_mode)));
  out_.open(path, append ? std::ios::app : std::ios::trunc);
  if (!out_) throw FileError(fmt::format("[metrics] cannot open '{}' for writing", path));
  path_ = path;
}

void MetricsWriter::write(const std::string& json_object) {
  if (keep_) kept_ += json_object + '\n';
  if (!out_.is_open()) return;
  out_ << json_object << '\n';
  out_.flush();
  if (!out_) throw FileError(fmt::format("[metrics] write to '{}' failed", path_));
}

}  // namespace attograd

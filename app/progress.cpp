#include "app/progress.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "io/atomic_file.hpp"
#include "io/regular_file.hpp"
#include "viz/metrics.hpp"

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

namespace {

// Drops the records of steps after `step` from the metrics file `path` (if
// it exists), replacing it atomically; returns how many were dropped.
std::size_t drop_records_after(const std::string& path, std::int64_t step) {
  std::ifstream in(path);
  if (!in) return 0;  // a new file
  std::string kept, line;
  std::size_t dropped = 0;
  while (std::getline(in, line)) {
    const std::optional<double> s = metrics_line_step(line);
    if (s && *s > static_cast<double>(step)) {
      ++dropped;
      continue;
    }
    kept += line + '\n';
  }
  if (in.bad()) throw FileError(fmt::format("[metrics] error while reading '{}'", path));
  if (dropped == 0) return 0;
  AtomicFileWriter out(path);
  out.write(kept.data(), kept.size());
  out.commit();
  return dropped;
}

}  // namespace

std::size_t MetricsWriter::open(const std::string& path, std::optional<std::int64_t> resumed_at) {
  if (path.empty()) return 0;
  struct stat st {};  // a FIFO would block the open until a reader appears
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw FileError(fmt::format("[metrics] '{}': not a regular file ({})", path, file_kind(st.st_mode)));
  const std::size_t dropped = resumed_at ? drop_records_after(path, *resumed_at) : 0;
  out_.open(path, resumed_at ? std::ios::app : std::ios::trunc);
  if (!out_) throw FileError(fmt::format("[metrics] cannot open '{}' for writing", path));
  path_ = path;
  return dropped;
}

void MetricsWriter::write(const std::string& json_object) {
  if (keep_) kept_ += json_object + '\n';
  if (!out_.is_open()) return;
  out_ << json_object << '\n';
  out_.flush();
  if (!out_) throw FileError(fmt::format("[metrics] write to '{}' failed", path_));
}

}  // namespace attograd

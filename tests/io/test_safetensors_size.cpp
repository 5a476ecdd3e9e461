// A header with very many entries (issue 18, item 3): parsing is linear, and
// more than 100,000 entries are refused. nlohmann's callback parser, used
// before, took over 5 minutes for 100,000 empty tensors.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <string>

#include "engine/error.hpp"
#include "io/safetensors.hpp"
#include "tests/support/files.hpp"

using namespace attograd;
using attograd::testing::TempDir;
using attograd::testing::write_bytes;

namespace {

// A safetensors file of `n` empty F32 tensors "t0", "t1", ... and no data.
std::string empty_tensors(std::size_t n) {
  std::string header = "{";
  for (std::size_t i = 0; i < n; ++i)
    header += (i ? ",\"t" : "\"t") + std::to_string(i) + R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]})";
  header += "}";
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(header.size() >> (8 * i));
  return out + header;
}

// Processor time, not wall time: the test machine is shared.
double cpu_seconds_to_load(const std::string& path, std::size_t& tensors) {
  const std::clock_t start = std::clock();
  tensors = load_safetensors(path).tensors.size();
  return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr double kSlowdown = 5;  // sanitizer builds
#else
constexpr double kSlowdown = 1;
#endif

}  // namespace

TEST_CASE("a header of 100,000 entries loads in well under a second, and 100,001 are refused") {
  TempDir dir;
  write_bytes(dir.file("limit"), empty_tensors(100'000));
  std::size_t tensors = 0;
  const double seconds = cpu_seconds_to_load(dir.file("limit"), tensors);
  CHECK(tensors == 100'000);
  CHECK(seconds < 1.0 * kSlowdown);  // ~0.3 s of processor time in a release build; quadratic took minutes
  MESSAGE("100,000 entries: " << seconds << " s");

  write_bytes(dir.file("over"), empty_tensors(100'001));
  CHECK_THROWS_WITH_AS(load_safetensors(dir.file("over")),
                       doctest::Contains("the header holds more than 100000 entries, the limit"), FileError);
}

TEST_CASE("a save removes the temporary files of killed saves to the same path, not a live writer's") {
  TempDir dir;
  const std::string target = dir.file("run.safetensors");
  auto old_file = [](const std::string& path) {
    write_bytes(path, "partial");
    const struct timespec times[2] = {{1, 0}, {1, 0}};  // 1970: long dead
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
  };
  old_file(target + ".tmp-Ab12Cd");              // left by a kill -9
  old_file(target + ".tmp-Live01");              // a writer still at work: it holds the lock
  old_file(dir.file("other.safetensors.tmp-Ab12Cd"));  // another path's
  const int live = ::open((target + ".tmp-Live01").c_str(), O_RDONLY);
  REQUIRE(::flock(live, LOCK_EX) == 0);
  save_safetensors(target, {{"w", Tensor::zeros(DType::f32, {2})}});
  ::close(live);
  CHECK(dir.entries() == std::vector<std::string>{"other.safetensors.tmp-Ab12Cd", "run.safetensors", "run.safetensors.tmp-Live01"});
}

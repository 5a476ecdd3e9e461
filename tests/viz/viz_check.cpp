#include "viz_check.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

namespace attograd::test {
namespace {

struct Scratch {
  std::filesystem::path dir;
  Scratch() {
    dir = std::filesystem::temp_directory_path() / ("attograd-viz-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

std::string run_command(const std::string& command, int& status) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string out;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  status = ::pclose(pipe);
  return out;
}

}  // namespace

const std::filesystem::path& scratch_dir() {
  static Scratch scratch;
  return scratch.dir;
}

nlohmann::json svg_summary(const Svg& svg, const std::string& name) {
  std::filesystem::path file = scratch_dir() / name;
  write_text(file, svg.text);
  std::string command = "python3 '" ATTOGRAD_VIZ_TEST_DIR "/svg_query.py' '" + file.string() + "' 2>&1";
  int status = 0;
  std::string out = run_command(command, status);
  if (status != 0) throw std::runtime_error(name + ": " + out);
  return nlohmann::json::parse(out);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace attograd::test

#include "cli_check.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <doctest/doctest.h>

extern char** environ;

namespace attograd::test {
namespace {

std::string attograd_path() {
  const char* env = std::getenv("ATTOGRAD_EXE");
  return env && *env ? env : ATTOGRAD_EXE;
}

struct Scratch {
  std::filesystem::path dir;
  Scratch() {
    dir = std::filesystem::temp_directory_path() / ("attograd-cli-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

// Reads everything from `fd` until the writer closes it.
std::string drain(int fd) {
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

CliResult run_attograd(const std::vector<std::string>& args) {
  std::vector<std::string> argv_strings{attograd_path()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    throw std::runtime_error("cannot run " + argv_strings[0]);
  }
  CliResult r;
  r.output = drain(fds[0]);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

BackgroundAttograd::BackgroundAttograd(const std::vector<std::string>& args) {
  std::vector<std::string> argv_strings{attograd_path()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw std::runtime_error("cannot run " + argv_strings[0]);
  pid_ = pid;
}

BackgroundAttograd::~BackgroundAttograd() {
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

bool BackgroundAttograd::running() const {
  int status = 0;
  return ::waitpid(pid_, &status, WNOHANG) == 0;
}

std::vector<std::string> tiny_model() {
  return {"--layers", "1", "--d-model", "32", "--heads", "2", "--d-ff", "64", "--threads", "1", "--quiet"};
}

CliResult train_tiny(const std::string& task, const std::vector<std::string>& more) {
  std::vector<std::string> args{"train", task};
  const auto tiny = tiny_model();
  args.insert(args.end(), tiny.begin(), tiny.end());
  args.insert(args.end(), more.begin(), more.end());
  CliResult r = run_attograd(args);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return r;
}

const std::string& scratch(const std::string& name) {
  static Scratch dir;
  static std::map<std::string, std::string> paths;
  auto it = paths.find(name);
  if (it == paths.end()) it = paths.emplace(name, (dir.dir / name).string()).first;
  return it->second;
}

const std::string& trained_copy_model() {
  static const std::string path = [] {
    const std::string p = scratch("trained_copy.safetensors");
    train_tiny("copy", {"--dropout", "0", "--steps", "400", "--lr-schedule", "cosine", "--lr", "0.005", "--warmup", "20",
                        "--batch", "32", "--eval-every", "1000", "--save", p});
    return p;
  }();
  return path;
}

std::vector<nlohmann::json> metrics_records(const std::string& metrics_path) {
  std::ifstream in(metrics_path);
  REQUIRE_MESSAGE(in, "cannot read " << metrics_path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::map<long, double> train_losses(const std::string& metrics_path) {
  std::map<long, double> losses;
  for (const nlohmann::json& r : metrics_records(metrics_path))
    if (r.contains("loss")) losses[r["step"].get<long>()] = r["loss"].get<double>();
  return losses;
}

nlohmann::json svg_file_summary(const std::string& path) {
  const std::string command = "/usr/bin/python3 '" SVG_QUERY "' '" + path + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  if (::pclose(pipe) != 0) throw std::runtime_error(path + ": " + out);
  return nlohmann::json::parse(out);
}

std::string joined(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace attograd::test

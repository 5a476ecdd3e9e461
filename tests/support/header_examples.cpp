#include "tests/support/header_examples.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace attograd::testing {
namespace {

// Without leading and trailing blanks, runs of spaces made one.
std::string normalized(const std::string& line) {
  std::string out;
  for (char c : line) {
    if (c == ' ' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::vector<std::string> lines_of(const std::string& path_from_root) {
  const std::string path = std::string(ATTOGRAD_SOURCE_ROOT) + "/" + path_from_root;
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(normalized(line));
  return lines;
}

// The header's comment lines, without "//".
std::vector<std::string> comment_lines(const std::string& header) {
  std::vector<std::string> out;
  for (const std::string& line : lines_of(header))
    if (line.rfind("//", 0) == 0) out.push_back(normalized(line.substr(2)));
  return out;
}

bool contains_run(const std::vector<std::string>& text, const std::vector<std::string>& run) {
  for (std::size_t at = 0; at + run.size() <= text.size(); ++at) {
    std::size_t i = 0;
    while (i < run.size() && text[at + i] == run[i]) ++i;
    if (i == run.size()) return true;
  }
  return false;
}

}  // namespace

int check_header_examples(const std::string& test_source) {
  const std::string begin = "// example from ", end = "// end of example";
  const std::vector<std::string> lines = lines_of(test_source);
  int blocks = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind(begin, 0) != 0) continue;
    const std::string header = lines[i].substr(begin.size());
    std::vector<std::string> block;
    for (++i; i < lines.size() && lines[i] != end; ++i) block.push_back(lines[i]);
    REQUIRE_MESSAGE(i < lines.size(), "the example from " << header << " in " << test_source << " has no end");
    std::ostringstream shown;
    for (const std::string& line : block) shown << "\n  " << line;
    CHECK_MESSAGE(!block.empty(), "an empty example from " << header);
    CHECK_MESSAGE(contains_run(comment_lines(header), block),
                  header << " does not hold the example that " << test_source << " compiles:" << shown.str());
    ++blocks;
  }
  return blocks;
}

}  // namespace attograd::testing

// Helpers for the viz tests: a scratch directory per test binary, and
// svg_summary(), which has Python's XML parser read a drawing back (so a test
// fails if the SVG is not well-formed) and reports its panels, series
// vertices and texts (see svg_query.py).
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "viz/svg.hpp"

namespace attograd::test {

// A fresh directory under the system temp directory, removed at exit.
const std::filesystem::path& scratch_dir();

// Writes `svg` to scratch_dir()/name and returns svg_query.py's summary.
// Throws std::runtime_error with the parser's message if it is not XML.
nlohmann::json svg_summary(const Svg& svg, const std::string& name);

std::string read_text(const std::filesystem::path& path);
void write_text(const std::filesystem::path& path, const std::string& text);

}  // namespace attograd::test

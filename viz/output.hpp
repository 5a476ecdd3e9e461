// Writing drawings to files. The extension picks the format, case-insensitive:
//   .svg  the SVG text as it is
//   .png  the same drawing rasterised (librsvg + cairo), white background,
//         `png_scale` pixels per SVG unit (2 gives a sharp picture on HiDPI)
//
//   save_drawing(plot_curves(runs), "curves.png", 2.0);
#pragma once

#include <filesystem>
#include <vector>

#include "viz/svg.hpp"

namespace attograd {

// Throws Error "[viz] unknown output format ..." unless `path` ends in .svg or
// .png, and "[viz] PNG output is not available ..." for .png when this build
// has no librsvg. Lets a command check its arguments before doing the work.
void check_drawing_path(const std::filesystem::path& path);

// Writes `svg` to `path` (replacing it atomically: io/atomic_file.hpp).
// Throws as check_drawing_path, and FileError "[file] <path>: ..." when the
// file cannot be written.
void save_drawing(const Svg& svg, const std::filesystem::path& path, double png_scale = 1.0);

// True when this build can write PNG (librsvg and cairo were found).
bool png_supported();

// The PNG file bytes of `svg` rendered at `scale`. Throws Error when PNG is
// not supported or librsvg rejects the document.
std::vector<unsigned char> render_png(const Svg& svg, double scale = 1.0);

}  // namespace attograd

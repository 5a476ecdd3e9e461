// Format dispatch and file writing; the rasteriser lives in png.cpp so only
// that file sees the glib/cairo headers.
#include "viz/output.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {
namespace {

std::string lower_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

void write_bytes(const std::filesystem::path& path, const char* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out.write(data, static_cast<std::streamsize>(size));
  if (out) out.close();
  if (!out) throw FileError(fmt::format("[viz] cannot write {}", path.string()));
}

}  // namespace

void check_drawing_path(const std::filesystem::path& path) {
  std::string ext = lower_extension(path);
  if (ext == ".svg") return;
  if (ext == ".png") {
    if (!png_supported())
      throw Error(fmt::format("[viz] PNG output is not available in this build (needs librsvg2-dev "
                              "and libcairo2-dev); write {} as .svg instead", path.string()));
    return;
  }
  throw Error(fmt::format("[viz] unknown output format '{}' for {}: use .svg or .png",
                          ext.empty() ? "(no extension)" : ext, path.string()));
}

void save_drawing(const Svg& svg, const std::filesystem::path& path, double png_scale) {
  check_drawing_path(path);
  if (lower_extension(path) == ".svg") {
    write_bytes(path, svg.text.data(), svg.text.size());
    return;
  }
  std::vector<unsigned char> png = render_png(svg, png_scale);
  write_bytes(path, reinterpret_cast<const char*>(png.data()), png.size());
}

}  // namespace attograd

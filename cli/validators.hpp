// CLI11 validators the commands share. CLI::Range lets NaN through (every
// comparison with NaN is false), so a floating flag also gets Finite:
//
//   cmd->add_option("--temperature", t)->check(Finite)->check(CLI::Range(1e-3, 100.0));
//   // --temperature nan: "--temperature: nan is not a finite number"
#pragma once

#include <cmath>
#include <string>

#include <CLI/CLI.hpp>

#include "engine/error.hpp"

namespace attograd {

inline const CLI::Validator Finite(
    [](std::string& text) -> std::string {
      try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        if (used == text.size() && std::isfinite(v)) return "";
      } catch (const std::exception&) {
        return "";  // not a number at all: the option's own conversion names it
      }
      return excerpt(text) + " is not a finite number";
    },
    "", "Finite");  // no description: --help reads as before

}  // namespace attograd

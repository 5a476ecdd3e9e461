// Exceptions thrown by attograd. Library code never aborts the process: every
// user error (bad shape, bad file, broken plugin) becomes one of these, with a
// message that starts with the op or subsystem in brackets: "[matmul] ...".
#pragma once

#include <stdexcept>
#include <string>

namespace attograd {

// User input quoted in a message, cut to `max` characters ("..." marks a cut):
// a message must not echo a 30 KB line back.
inline std::string excerpt(const std::string& text, std::size_t max = 40) {
  return text.size() <= max ? text : text.substr(0, max - 3) + "...";
}

// Base of everything attograd throws.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A node was created with inputs whose shapes/dtypes the op does not accept.
// Thrown at graph-build time, naming op, scope label and the shapes.
struct ShapeError : Error {
  using Error::Error;
};

// An exception escaped an op while the graph ran. The message names the node
// (id, op, scope label) and the phase; the original message follows.
struct NodeError : Error {
  NodeError(std::string message, int node, std::string op, std::string scope, std::string phase)
      : Error(std::move(message)), node(node), op(std::move(op)), scope(std::move(scope)), phase(std::move(phase)) {}
  int node;
  std::string op;
  std::string scope;
  std::string phase;  // "forward" or "backward"
};

// A node produced NaN or Inf while the numerics check was on.
struct NumericsError : NodeError {
  using NodeError::NodeError;
};

// A file (checkpoint, data, metrics) could not be read or written.
struct FileError : Error {
  using Error::Error;
};

// A plugin library was refused by the loader.
struct PluginError : Error {
  using Error::Error;
};

}  // namespace attograd

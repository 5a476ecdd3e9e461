// Errors and agreement across ranks: an exception on one rank must reach
// every rank and end the job with its message, printed once, never leave the
// others waiting in a collective. With one process these call `work`
// directly and let its exceptions through unchanged.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "dist/communicator.hpp"
#include "engine/error.hpp"

namespace attograd {

// An error every rank of the job has (a collective told them all), so only
// rank 0 prints it (print_here()); every rank exits non-zero. The message
// names the failing rank: "rank 2 of 3: [check_numerics] ...".
struct AgreedError : Error {
  AgreedError(const std::string& message, bool print_here) : Error(message), print_here_(print_here) {}
  bool print_here() const { return print_here_; }

 private:
  bool print_here_;
};

// Runs `work` on every rank, then agrees: if it threw on any rank, every
// rank throws AgreedError with the lowest failing rank's message.
void run_on_all(Communicator& comm, const std::function<void()>& work);

// Runs `work` on rank 0 only (saving, evaluating, printing); the other ranks
// wait for its verdict and throw AgreedError with rank 0 if it failed.
void run_on_root(Communicator& comm, const std::function<void()>& work);

// Runs `work` whose verdict is the same on every rank because it reads
// only values the ranks already share (the step's loss, the step number):
// an Error it throws becomes an AgreedError that rank 0 alone prints,
// without a collective. With one process exceptions pass unchanged.
void run_unanimous(Communicator& comm, const std::function<void()>& work);

// Runs a whole job's work on this rank (the trainer runs in it). An
// AgreedError is printed once, by rank 0, and rethrown on every rank (as
// one not to print again) once every rank got here: the launcher ends the
// job at the first non-zero exit, which must not cut rank 0's message. Any
// other exception, with several ranks, is printed with its rank and ends
// every rank at once (Communicator::abort(1)): the others may be waiting
// in a collective this rank will never join. With one process exceptions
// pass unchanged.
void run_job(Communicator& comm, const std::function<void()>& work);

// The agreement itself: `error` is this rank's message ("" = none). Throws
// AgreedError on every rank if any rank's is non-empty.
void agree_on_errors(Communicator& comm, const std::string& error);

// Rank 0's `decision` on every rank (a collective; one process: `decision`).
bool root_decides(Communicator& comm, bool decision);

// Facts that must be equal on every rank ("train.lr" -> "0.5", "build id of
// libopenblas.so.0" -> "..."): refuses with AgreedError naming the first
// fact on which a rank differs from rank 0, and both values.
using Facts = std::vector<std::pair<std::string, std::string>>;
void require_identical(Communicator& comm, const Facts& facts);

}  // namespace attograd

#include "dist/guard.hpp"

#include <cstdio>
#include <exception>
#include <map>

#include <fmt/format.h>

namespace attograd {
namespace {

std::string message_of(const std::function<void()>& work) {
  try {
    work();
  } catch (const std::exception& e) {
    return std::string(e.what()).empty() ? "unknown error" : e.what();
  } catch (...) {
    return "unknown error";
  }
  return "";
}

// "key\0value\0key\0value\0..."
std::string serialize(const Facts& facts) {
  std::string out;
  for (const auto& [key, value] : facts) out += key + '\0' + value + '\0';
  return out;
}

Facts parse(const std::string& bytes) {
  Facts facts;
  std::size_t at = 0;
  while (at < bytes.size()) {
    const std::size_t k = bytes.find('\0', at), v = bytes.find('\0', k + 1);
    facts.emplace_back(bytes.substr(at, k - at), bytes.substr(k + 1, v - k - 1));
    at = v + 1;
  }
  return facts;
}

}  // namespace

void agree_on_errors(Communicator& comm, const std::string& error) {
  const auto errors = comm.allgather(error);
  for (std::size_t r = 0; r < errors.size(); ++r)
    if (!errors[r].empty())
      throw AgreedError(fmt::format("rank {} of {}: {}", r, comm.size(), errors[r]), comm.rank() == 0);
}

void run_on_all(Communicator& comm, const std::function<void()>& work) {
  if (comm.size() == 1) return work();
  agree_on_errors(comm, message_of(work));
}

void run_on_root(Communicator& comm, const std::function<void()>& work) {
  if (comm.size() == 1) return work();
  agree_on_errors(comm, comm.rank() == 0 ? message_of(work) : "");
}

void run_unanimous(Communicator& comm, const std::function<void()>& work) {
  if (comm.size() == 1) return work();
  try {
    work();
  } catch (const AgreedError&) {
    throw;
  } catch (const Error& e) {
    throw AgreedError(e.what(), comm.rank() == 0);
  }
}

void run_job(Communicator& comm, const std::function<void()>& work) {
  try {
    work();
  } catch (const AgreedError& e) {
    if (comm.size() == 1) throw;
    if (e.print_here()) fmt::print(stderr, "attograd: error: {}\n", e.what());
    std::fflush(stderr);
    comm.allgather("");  // rank 0 has printed
    throw AgreedError(e.what(), false);
  } catch (const std::exception& e) {
    if (comm.size() == 1) throw;
    fmt::print(stderr, "attograd: error: rank {} of {}: {}\n", comm.rank(), comm.size(), e.what());
    std::fflush(stderr);
    comm.abort(1);
  }
}

bool root_decides(Communicator& comm, bool decision) {
  if (comm.size() == 1) return decision;
  return comm.allgather(decision ? "1" : "0").at(0) == "1";
}

void require_identical(Communicator& comm, const Facts& facts) {
  if (comm.size() == 1) return;
  const auto all = comm.allgather(serialize(facts));
  const Facts reference = parse(all[0]);
  for (std::size_t r = 1; r < all.size(); ++r) {
    std::map<std::string, std::string> theirs;
    for (const auto& [key, value] : parse(all[r])) theirs[key] = value;
    for (const auto& [key, value] : reference) {
      const auto it = theirs.find(key);
      const std::string other = it == theirs.end() ? "(none)" : it->second;
      if (other != value)
        throw AgreedError(fmt::format("[dist] the ranks differ: rank {} has {} = '{}', rank 0 has '{}'; every rank "
                                      "must run the same build with the same settings and data",
                                      r, key, other, value),
                          comm.rank() == 0);
      theirs.erase(key);
    }
    if (!theirs.empty())
      throw AgreedError(fmt::format("[dist] the ranks differ: rank {} has {} = '{}', rank 0 has none", r,
                                    theirs.begin()->first, theirs.begin()->second),
                        comm.rank() == 0);
  }
}

}  // namespace attograd

// Under `mpirun -np 2`: rank 1 fails outside any agreed section while rank 0
// waits in a collective that rank 1 will never join. run_job (dist/guard.hpp)
// must end the whole job at once, with rank 1's message: abort_mpi.sh checks
// that it ends within seconds, non-zero, the message printed once.
#include <stdexcept>

#include "dist/communicator.hpp"
#include "dist/guard.hpp"

int main() {
  using namespace attograd;
  const auto comm = make_communicator();
  run_job(*comm, [&] {
    if (comm->rank() == 1) throw std::runtime_error("a failure only rank 1 sees");
    comm->allgather("rank 0 waits here");
  });
  return 0;
}

// The MPI C API for Swift (issue 14; built only with LCNN_MPI=1). MPI's handles and constants
// are macros Swift cannot import (in Open MPI, addresses of library globals), so each one used
// is wrapped in an inline function.
#include <mpi.h>

static inline MPI_Comm lcnn_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype lcnn_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype lcnn_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype lcnn_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op lcnn_mpi_sum(void) { return MPI_SUM; }
static inline void *lcnn_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int lcnn_mpi_success(void) { return MPI_SUCCESS; }
static inline int lcnn_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }

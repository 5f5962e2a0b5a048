# Compiles user_program.cpp as a user's -Werror build would, at each optimisation level GCC's
# late warnings depend on. Called by ctest with -DCXX=... -DSOURCE=... -DINCLUDES=a;b -DOUT=dir.
foreach(level -O3 -O2 -Os)
  execute_process(
    COMMAND ${CXX} -std=c++20 ${level} -Wall -Wextra -Werror -DBOOST_DLL_USE_STD_FS
      ${INCLUDES} -c ${SOURCE} -o ${OUT}/user_program${level}.o
    RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "a user's program including <lithops/multiprocessing.hpp> does not build "
      "warning-free at ${level} -Wall -Wextra -Werror:\n${out}${err}")
  endif()
  message(STATUS "public headers clean at ${level} -Wall -Wextra -Werror")
endforeach()

# Installs the build tree into a fresh prefix, then configures, builds and runs an outside project
# against it with find_package(Lithops CONFIG REQUIRED) — no source tree, no environment variables.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install "${LITHOPS_BUILD_DIR}" --prefix "${prefix}")
set(flags "")
if(SANITIZE)  # a sanitized Lithops needs a sanitized program
  set(flags "-fsanitize=${SANITIZE}")
endif()
run(${CMAKE_COMMAND} -S "${OUTSIDE_SOURCE_DIR}" -B "${WORK_DIR}/build" -G Ninja
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_CXX_FLAGS=${flags}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
# The plugins must come from the install prefix: hide the build tree's plugins from the loader.
run(${CMAKE_COMMAND} -E env --unset=LITHOPS_PLUGIN_PATH "${WORK_DIR}/build/outside_app")
message("${last_output}")

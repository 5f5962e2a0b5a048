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

# The third-party executor passes `lithops plugin check` (its lithops_add_plugin_check test).
run(${CMAKE_COMMAND} -E env --unset=LITHOPS_PLUGIN_PATH
    ctest --test-dir "${WORK_DIR}/build" --output-on-failure -V)
message("${last_output}")
if(NOT last_output MATCHES "lithops plugin check forkexec" OR
   NOT last_output MATCHES "Process.kill\\(\\) +PASS")
  message(FATAL_ERROR "the forkexec plugin check did not run")
endif()

# Its declared section is validated and its secret masked by `lithops config show`.
file(WRITE "${WORK_DIR}/forkexec.json"
  "{\n  // a comment, as the library accepts\n  \"lithops\": {\"backend\": \"forkexec\"},\n"
  "  \"forkexec\": {\"max_children\": 8, \"token\": \"tok-s3cret\", \"max_childs\": 1}\n}\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E env "LITHOPS_PLUGIN_PATH=${WORK_DIR}/build"
    "${prefix}/bin/lithops" --config "${WORK_DIR}/forkexec.json" config show
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0 OR out MATCHES "tok-s3cret" OR NOT out MATCHES "\"token\": \"\\*\\*\\*\\*\""
   OR NOT err MATCHES "unknown key in section 'forkexec' 'max_childs'; did you mean 'max_children'")
  message(FATAL_ERROR "config show did not validate/mask the forkexec section")
endif()

# The installed examples build from the installed package, and pass their checks.
run(${CMAKE_COMMAND} -S "${prefix}/share/lithops/examples" -B "${WORK_DIR}/examples" -G Ninja
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_CXX_FLAGS=${flags}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/examples")
run(${CMAKE_COMMAND} -E env --unset=LITHOPS_PLUGIN_PATH
    ctest --test-dir "${WORK_DIR}/examples" --output-on-failure -V)
message("${last_output}")
# The plugins must come from the install prefix: hide the build tree's plugins from the loader.
run(${CMAKE_COMMAND} -E env --unset=LITHOPS_PLUGIN_PATH "${WORK_DIR}/build/outside_app")
set(app_output "${last_output}")

# The example state store holds a whole session: the executor checks on localhost with
# "lithops": {"state_store": "example_resp"}, against a redis-server of this test's own.
find_program(REDIS_SERVER redis-server)
find_program(REDIS_CLI redis-cli)
if(REDIS_SERVER AND REDIS_CLI)
  string(RANDOM LENGTH 4 ALPHABET 0123456789 n)
  math(EXPR port "20000 + ${n}")
  run("${REDIS_SERVER}" --port ${port} --bind 127.0.0.1 --save "" --appendonly no
      --daemonize yes --pidfile "${WORK_DIR}/redis.pid" --dir "${WORK_DIR}")
  set(ready FALSE)
  foreach(attempt RANGE 200)  # until it answers PING (it daemonized before listening)
    execute_process(COMMAND "${REDIS_CLI}" -p ${port} ping OUTPUT_VARIABLE pong ERROR_QUIET)
    if(pong MATCHES "PONG")
      set(ready TRUE)
      break()
    endif()
    execute_process(COMMAND ${CMAKE_COMMAND} -E sleep 0.05)
  endforeach()
  file(WRITE "${WORK_DIR}/resp.json"
    "{\"example_resp\": {\"host\": \"127.0.0.1\", \"port\": ${port}}}\n")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env
      "LITHOPS_PLUGIN_PATH=${WORK_DIR}/examples"
      "${prefix}/bin/lithops" --config "${WORK_DIR}/resp.json" plugin check example_resp
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  execute_process(COMMAND "${REDIS_CLI}" -p ${port} shutdown nosave ERROR_QUIET)
  message("${out}")
  if(NOT ready OR NOT rc EQUAL 0 OR NOT out MATCHES "13 of 13 checks passed")
    message(FATAL_ERROR "the example state store failed its check (${rc}):\n${out}\n${err}")
  endif()
endif()
message("${app_output}")

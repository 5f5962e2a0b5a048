# ctest cases for the verbs beside `clean` (included from tools/cli/CMakeLists.txt), each on the
# localhost backend with a real redis-server the test script starts.

# Plugins that cannot load, for `lithops plugins`, in their own directory.
set(broken_dir ${CMAKE_CURRENT_BINARY_DIR}/broken_plugins)
add_library(lithops_test_vanished SHARED test/broken_plugins/vanished.cpp)
set_target_properties(lithops_test_vanished PROPERTIES
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/vanished)
foreach(variant ABI SYMBOL LIBRARY)
  string(TOLOWER ${variant} lower)
  set(t lithops_test_broken_${lower})
  add_library(${t} MODULE test/broken_plugins/broken.cpp)
  target_link_libraries(${t} PRIVATE lithops_sdk)
  target_compile_definitions(${t} PRIVATE BROKEN_${variant} BROKEN_KIND="pipe"
    BROKEN_NAME="broken${lower}")
  set_target_properties(${t} PROPERTIES OUTPUT_NAME lithops_pipe_broken${lower}
    LIBRARY_OUTPUT_DIRECTORY ${broken_dir} SKIP_BUILD_RPATH ON)
  add_dependencies(lithops_cli ${t})
endforeach()
target_link_libraries(lithops_test_broken_library PRIVATE lithops_test_vanished)

add_test(NAME cli.PluginsNamesWhyEachBrokenPluginCannotLoad
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test/plugins_test.sh $<TARGET_FILE:lithops_cli> ${broken_dir})
set_tests_properties(cli.PluginsNamesWhyEachBrokenPluginCannotLoad PROPERTIES LABELS unit)

# `hello` and `test` on the localhost backend: the CLI runs Processes whose worker is itself.
add_test(NAME cli.HelloAndTestOnLocalhost
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test/smoke_test.sh $<TARGET_FILE:lithops_cli>
    ${CMAKE_CURRENT_SOURCE_DIR}/test/localhost_config.json ${broken_dir})
set_tests_properties(cli.HelloAndTestOnLocalhost PROPERTIES LABELS integration TIMEOUT 300)

# `config check` against a redis-server the script starts (and stops with SIGSTOP).
add_test(NAME cli.ConfigCheckNamesWhatFails
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test/config_check_test.sh $<TARGET_FILE:lithops_cli>
    ${LITHOPS_REDIS_SERVER} ${LITHOPS_REDIS_CLI})
set_tests_properties(cli.ConfigCheckNamesWhatFails PROPERTIES LABELS unit TIMEOUT 60)

# The man page installs and `man lithops` renders it; the bash completion knows every verb.
find_program(LITHOPS_MAN man)
if(NOT LITHOPS_MAN)
  message(FATAL_ERROR "man not found: cli.ManPageAndCompletion renders the man page; install the "
    "Debian package man-db (tools/quickstart.sh deps)")
endif()
add_test(NAME cli.ManPageAndCompletion
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test/docs_test.sh ${CMAKE_BINARY_DIR} $<TARGET_FILE:lithops_cli>)
set_tests_properties(cli.ManPageAndCompletion PROPERTIES LABELS unit TIMEOUT 120)

# The opt-in Pool progress bar, under a pty (script) and without one.
add_test(NAME cli.ProgressBarOnlyOnATerminal
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test/progress_test.sh $<TARGET_FILE:lithops_cli>)
set_tests_properties(cli.ProgressBarOnlyOnATerminal PROPERTIES LABELS integration TIMEOUT 120)

# `sessions` against a redis-server the script starts, with a real driver holding a session.
add_test(NAME cli.SessionsListsLiveAndDead
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test/sessions_test.sh $<TARGET_FILE:lithops_cli>
    ${LITHOPS_REDIS_SERVER} ${LITHOPS_REDIS_CLI})
set_tests_properties(cli.SessionsListsLiveAndDead PROPERTIES LABELS integration TIMEOUT 120)


# `sessions` against a redis-server the script starts, with a real driver holding a session.
find_program(LITHOPS_REDIS_SERVER redis-server REQUIRED)
find_program(LITHOPS_REDIS_CLI redis-cli REQUIRED)
add_test(NAME cli.SessionsListsLiveAndDead
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test/sessions_test.sh $<TARGET_FILE:lithops_cli>
    ${LITHOPS_REDIS_SERVER} ${LITHOPS_REDIS_CLI})
set_tests_properties(cli.SessionsListsLiveAndDead PROPERTIES LABELS integration TIMEOUT 120)

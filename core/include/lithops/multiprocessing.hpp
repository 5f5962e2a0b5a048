// Lithops C++: Python's multiprocessing API whose processes run on serverless functions.
//
//   #include <lithops/multiprocessing.hpp>
//   namespace mp = lithops::multiprocessing;
//
// See docs/user-guide.md. Every public name lives in lithops::multiprocessing.
#pragma once

#include "lithops/multiprocessing/array.hpp"
#include "lithops/multiprocessing/async_result.hpp"
#include "lithops/multiprocessing/barrier.hpp"
#include "lithops/multiprocessing/common.hpp"
#include "lithops/multiprocessing/condition.hpp"
#include "lithops/multiprocessing/config.hpp"
#include "lithops/multiprocessing/context.hpp"
#include "lithops/multiprocessing/dict_proxy.hpp"
#include "lithops/multiprocessing/errors.hpp"
#include "lithops/multiprocessing/event.hpp"
#include "lithops/multiprocessing/init.hpp"
#include "lithops/multiprocessing/list_proxy.hpp"
#include "lithops/multiprocessing/lock.hpp"
#include "lithops/multiprocessing/manager.hpp"
#include "lithops/multiprocessing/namespace_proxy.hpp"
#include "lithops/multiprocessing/object_proxy.hpp"
#include "lithops/multiprocessing/pipe.hpp"
#include "lithops/multiprocessing/pool.hpp"
#include "lithops/multiprocessing/process.hpp"
#include "lithops/multiprocessing/proxy_common.hpp"
#include "lithops/multiprocessing/queue.hpp"
#include "lithops/multiprocessing/registry.hpp"
#include "lithops/multiprocessing/remote_errors.hpp"
#include "lithops/multiprocessing/semaphore.hpp"
#include "lithops/multiprocessing/set_proxy.hpp"
#include "lithops/multiprocessing/shared_memory.hpp"
#include "lithops/multiprocessing/value.hpp"

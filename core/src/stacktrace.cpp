// Kept in its own file: the only user of Boost.Stacktrace (and its libbacktrace back end).
//
// Throw-site stack traces. A worker reports the stack of the place an exception was *thrown*, not
// where the worker caught it. The C++ runtime has no hook for that (Boost 1.81 has no
// stacktrace::from_exception), so this library interposes __cxa_throw, the function every `throw`
// expression calls: it records the raw frame addresses into a thread_local buffer (no allocation:
// safe_dump_to) and forwards to the C++ runtime's own __cxa_throw, found with dlsym(RTLD_NEXT).
// Frames are symbolised only when a worker reports the exception.
//
// Interposition works because the dynamic linker binds every module's __cxa_throw to the first
// definition in load order, and a program linked with -llithops_multiprocessing loads it before
// libstdc++ (the compiler driver adds -lstdc++ last). Sanitizer runtimes interpose __cxa_throw too;
// they load first and forward with RTLD_NEXT, which reaches this one. Capture is on only in worker
// processes (enable_throw_site_capture() from mp::init()): in the driver a throw pays one load.
#define BOOST_STACKTRACE_LINK
#include <cxxabi.h>
#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <sstream>
#include <typeinfo>

#include <boost/stacktrace.hpp>

#include "remote_error.hpp"

namespace lithops::multiprocessing::detail {
namespace {

using CxaThrow = void (*)(void*, std::type_info*, void (*)(void*));

constexpr std::size_t kMaxFrames = 128;
struct ThrowSite {
  void* object = nullptr;
  std::size_t frames = 0;  // including safe_dump_to's terminating null frame
  boost::stacktrace::frame::native_frame_ptr_t buffer[kMaxFrames];
};
thread_local ThrowSite t_site;
std::atomic<bool> g_capture{false};
std::atomic<bool> g_interposed{false};

CxaThrow real_cxa_throw() {
  static const CxaThrow real = [] {
    auto* fn = reinterpret_cast<CxaThrow>(::dlsym(RTLD_NEXT, "__cxa_throw"));
    if (fn == nullptr) {
      std::fprintf(stderr, "lithops: cannot find the C++ runtime's __cxa_throw: %s\n", ::dlerror());
      std::abort();
    }
    return fn;
  }();
  return real;
}

// The object a std::exception_ptr refers to. libstdc++ and libc++ both hold exactly the pointer
// that __cxa_allocate_exception returned and __cxa_throw received.
void* object_of(const std::exception_ptr& p) {
  static_assert(sizeof(std::exception_ptr) == sizeof(void*));
  void* object = nullptr;
  std::memcpy(&object, &p, sizeof object);
  return object;
}

std::string to_text(const boost::stacktrace::stacktrace& trace) {
  std::ostringstream out;
  out << trace;
  return out.str();
}

}  // namespace

void enable_throw_site_capture() {
  real_cxa_throw();  // resolve now, not in the first throw
  g_capture.store(true, std::memory_order_relaxed);
}

bool throw_site_capture_active() { return g_interposed.load(std::memory_order_relaxed); }

std::string current_stacktrace() { return to_text(boost::stacktrace::stacktrace()); }

std::string current_exception_stacktrace(bool* at_throw_site) {
  const ThrowSite& site = t_site;
  if (site.object != nullptr && site.frames > 0 &&
      site.object == object_of(std::current_exception())) {
    if (at_throw_site) *at_throw_site = true;
    // Every recorded frame is a return address, just past its call instruction; one byte back
    // is inside the call, so the line shown is the call's (the `throw` itself in frame 0), not
    // the next statement's.
    boost::stacktrace::frame::native_frame_ptr_t calls[kMaxFrames];
    for (std::size_t i = 0; i < site.frames && i < kMaxFrames; ++i) {
      calls[i] = site.buffer[i] == nullptr ? nullptr : static_cast<const char*>(site.buffer[i]) - 1;
    }
    return to_text(boost::stacktrace::stacktrace::from_dump(
        calls, site.frames * sizeof(boost::stacktrace::frame::native_frame_ptr_t)));
  }
  if (at_throw_site) *at_throw_site = false;
  return current_stacktrace();
}

}  // namespace lithops::multiprocessing::detail

namespace ld = lithops::multiprocessing::detail;

// Defined as <cxxabi.h> declares it (extern "C" in __cxxabiv1: the namespace does not change the
// symbol, only which declaration the compiler checks this one against).
namespace __cxxabiv1 {
extern "C" void __cxa_throw(void* object, std::type_info* type, void (*destructor)(void*)) {
  if (ld::g_capture.load(std::memory_order_relaxed)) {
    ld::ThrowSite& site = ld::t_site;
    site.object = object;
    // Skips safe_dump_to's own frame; the first frame left is this function's caller's throw.
    site.frames = boost::stacktrace::safe_dump_to(1, site.buffer, sizeof site.buffer);
  }
  if (!ld::g_interposed.load(std::memory_order_relaxed)) {
    ld::g_interposed.store(true, std::memory_order_relaxed);
  }
  ld::real_cxa_throw()(object, type, destructor);
  __builtin_unreachable();
}
}  // namespace __cxxabiv1

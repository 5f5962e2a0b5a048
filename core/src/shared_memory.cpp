// SharedMemory and ShareableList on Redis. Layout, outside the session namespace so any driver
// on the same Redis can attach by name (one hash tag per block):
//   lithops:shm:{<name>}          HASH  size, chunk, kind ("block" | "list")
//   lithops:shm:{<name>}:<i>      STRING chunk i of a block (created by its first write)
//   lithops:shm:{<name>}:items    LIST  a ShareableList's items (JSON text)
// Every key expires REDIS_EXPIRY_TIME after it was last refreshed; each handle refreshes all of
// its block's keys on an access when a quarter of that time has passed since it last did.
#include "lithops/multiprocessing/shared_memory.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <random>
#include <tuple>

#include <boost/json.hpp>

#include "lithops/multiprocessing/remote_errors.hpp"
#include "proxy_internal.hpp"

namespace lithops::multiprocessing {

LITHOPS_EXCEPTION(KeyError);
LITHOPS_EXCEPTION(IndexError);
LITHOPS_EXCEPTION(AttributeError);
LITHOPS_EXCEPTION(RuntimeError);
LITHOPS_EXCEPTION(FileExistsError);
LITHOPS_EXCEPTION(FileNotFoundError);

namespace detail {
namespace {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// Big enough that a 16 MiB range is 16 commands, small enough that no single Redis value (or
// reply) gets large and that a small read at a random offset stays inside one chunk.
constexpr std::size_t kChunk = 1 << 20;
constexpr std::size_t kWriteBatch = 1 << 20;
// Chunks read per round trip (see SharedMemory::read_into). Each reply goes straight into the
// caller's buffer, so a bigger batch would cost no client memory, but the server then builds all
// its replies before sending the first (measured under CPU contention: 1 chunk per round trip
// is the fastest, 16 the slowest).
constexpr std::size_t kReadBatch = 1;

// KEYS: meta. ARGV: ttl, size, chunk, n_chunks, kind, items... Returns 0 if the name exists.
// Clears chunk keys an earlier block of this name may have left (a write racing its unlink), so
// a new block reads as zeros.
const Script kCreate{R"lua(
local meta, ttl = KEYS[1], ARGV[1]
if redis.call('EXISTS', meta) == 1 then return 0 end
for i = 0, tonumber(ARGV[4]) - 1 do redis.call('DEL', meta .. ':' .. i) end
local items = meta .. ':items'
redis.call('DEL', items)
redis.call('HSET', meta, 'size', ARGV[2], 'chunk', ARGV[3], 'kind', ARGV[5])
redis.call('EXPIRE', meta, ttl)
local batch = {}
for i = 6, #ARGV do
  batch[#batch + 1] = ARGV[i]
  if #batch == 1000 then redis.call('RPUSH', items, unpack(batch)); batch = {} end
end
if #batch > 0 then redis.call('RPUSH', items, unpack(batch)) end
if #ARGV >= 6 then redis.call('EXPIRE', items, ttl) end
return 1
)lua"};

// KEYS: meta. Returns 0 if there is no such block.
const Script kUnlink{R"lua(
local meta = KEYS[1]
local size = tonumber(redis.call('HGET', meta, 'size'))
if not size then return 0 end
local chunk = tonumber(redis.call('HGET', meta, 'chunk')) or 1
local n = math.ceil(size / chunk)
for i = 0, n - 1 do redis.call('DEL', meta .. ':' .. i) end
redis.call('DEL', meta, meta .. ':items')
return 1
)lua"};

std::string meta_key(const std::string& name) { return "lithops:shm:{" + name + "}"; }

// SM-10: the session's record of tracked blocks (Python's resource tracker).
std::string tracked_key() { return Runtime::get().prefix() + "shm:tracked"; }

std::atomic<bool> g_tracked{false};  // this process tracked a block

void track_block(const std::string& name) {
  g_tracked = true;
  auto& s = proxy_store();
  const std::string key = tracked_key();
  const std::vector<sdk::Command> cmds{{"SADD", key, name}, {"EXPIRE", key, s.expiry_text()}};
  check_replies(s.pipeline(cmds));
}

void untrack_block(const std::string& name) { proxy_store().run({"SREM", tracked_key(), name}); }

}  // namespace

void shm_session_end(Runtime& rt, bool workers_ran) {
  if (!g_tracked && !workers_ran) return;
  const std::string key = rt.prefix() + "shm:tracked";
  auto names = rt.store().run({"SMEMBERS", key});
  std::vector<std::string> leaked;
  for (const auto& n : names.elements) {
    const std::string meta = meta_key(n.str);
    if (rt.store().eval(kUnlink, {meta}, {}).integer == 1) leaked.push_back(n.str);
  }
  rt.store().run({"DEL", key});
  if (leaked.empty()) return;
  std::string list;
  for (const auto& n : leaked) list += (list.empty() ? "'" : ", '") + n + "'";
  std::fprintf(stderr,
               "lithops: resource_tracker: There appear to be %zu leaked shared_memory objects to "
               "clean up at shutdown: [%s]\n",
               leaked.size(), list.c_str());
}

namespace {

void check_name(const std::string& name) {
  if (name.empty()) throw ValueError("a SharedMemory name is required to attach");
  if (name.find('\0') != std::string::npos) throw ValueError("embedded null character in name");
}

std::string random_name() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[32];
  std::snprintf(buf, sizeof buf, "psm_%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

std::function<std::string()>& shm_name_generator() {
  static std::function<std::string()> generate = random_name;
  return generate;
}

namespace {

// Creates the meta (and items) of a new block; a generated name that exists is replaced by
// another (SM-03), a given one raises FileExistsError.
std::string create_block(std::optional<std::string> name, std::size_t size, std::size_t n_chunks,
                         const char* kind, const std::vector<std::string>& items) {
  auto& s = proxy_store();
  const std::string ttl = s.expiry_text(), sz = std::to_string(size), ch = std::to_string(kChunk),
                    n = std::to_string(n_chunks);
  for (int attempt = 0;; ++attempt) {
    const std::string candidate = name ? *name : shm_name_generator()();
    const std::string meta = meta_key(candidate);
    const std::vector<std::string_view> keys{meta};
    std::vector<std::string_view> args{ttl, sz, ch, n, kind};
    args.insert(args.end(), items.begin(), items.end());
    if (s.eval(kCreate, keys, args).integer == 1) return candidate;
    if (name) throw FileExistsError("[Errno 17] File exists: '" + candidate + "'");
    if (attempt > 100) throw OSError("could not find a free SharedMemory name");
  }
}

// {size, chunk, kind} of an existing block; FileNotFoundError if there is none.
std::tuple<std::size_t, std::size_t, std::string> find_block(const std::string& name) {
  auto r = proxy_store().run({"HMGET", meta_key(name), "size", "chunk", "kind"});
  if (r.elements.size() != 3 || r.elements[0].is_nil()) {
    throw FileNotFoundError("[Errno 2] No such file or directory: '" + name + "'");
  }
  return {std::stoull(r.elements[0].str), std::stoull(r.elements[1].str), r.elements[2].str};
}

[[noreturn]] void throw_gone(const std::string& name) {
  throw FileNotFoundError("SharedMemory '" + name + "' was unlinked");
}

// When a handle last refreshed its block's TTLs, and whether it is due again.
struct Lease {
  std::atomic<long long> last{std::numeric_limits<long long>::min() / 2};
  bool due(long long expiry_seconds) {
    const long long now = Clock::now().time_since_epoch().count();
    const long long every =
        std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(expiry_seconds)).count() /
        4;
    long long prev = last.load();
    return now - prev >= every && last.compare_exchange_strong(prev, now);
  }
};
}  // namespace

void check_replies(const std::vector<sdk::Reply>& replies) {
  for (const auto& r : replies) {
    if (r.is_error()) throw OSError("store answered with an error: " + r.str);
  }
}

struct ShmState {
  std::string name, meta;
  std::size_t size = 0, chunk = kChunk;
  std::atomic<bool> closed{false};
  Lease lease;

  std::string chunk_key(std::size_t i) const { return meta + ":" + std::to_string(i); }
  std::size_t n_chunks() const { return (size + chunk - 1) / chunk; }
  // Adds the TTL refresh of every key of the block to `cmds` when it is due.
  void maybe_touch(std::vector<sdk::Command>& cmds, const std::string& ttl) {
    if (!lease.due(proxy_store().expiry())) return;
    cmds.push_back({"EXPIRE", meta, ttl});
    for (std::size_t i = 0; i < n_chunks(); ++i) cmds.push_back({"EXPIRE", chunk_key(i), ttl});
  }
};

}  // namespace detail

using detail::ShmState;

SharedMemory::SharedMemory(std::optional<std::string> name, bool create, std::int64_t size,
                           bool track)
    : s_(std::make_shared<ShmState>()) {
  if (name) detail::check_name(*name);
  if (create) {
    if (size <= 0) throw ValueError("'size' must be a positive number different from zero");
    const auto n = static_cast<std::size_t>(size);
    s_->name = detail::create_block(std::move(name), n, (n + detail::kChunk - 1) / detail::kChunk,
                                    "block", {});
    s_->size = n;
    s_->lease.due(detail::proxy_store().expiry());  // just created: TTLs are fresh
  } else {
    if (!name) throw ValueError("'name' can only be None if create=True");
    auto [sz, chunk, kind] = detail::find_block(*name);
    if (kind != "block") throw ValueError("'" + *name + "' is a ShareableList, not a block");
    s_->name = std::move(*name);
    s_->size = sz;
    s_->chunk = chunk;
  }
  s_->meta = detail::meta_key(s_->name);
  if (track) detail::track_block(s_->name);
}

const std::string& SharedMemory::name() const { return s_->name; }
std::size_t SharedMemory::size() const { return s_->size; }
bool SharedMemory::closed() const { return s_->closed; }
void SharedMemory::close() { s_->closed = true; }

void SharedMemory::check_open() const {
  if (s_->closed) throw ValueError("operation on a closed SharedMemory");
}

std::string SharedMemory::read(std::size_t offset, std::size_t len) const {
  std::string out(len, '\0');
  read_into(offset, std::as_writable_bytes(std::span<char>(out)));
  return out;
}

void SharedMemory::read_into(std::size_t offset, std::span<std::byte> out) const {
  check_open();
  auto& st = *s_;
  const std::size_t len = out.size();
  if (offset > st.size || len > st.size - offset) {
    throw ValueError("range [" + std::to_string(offset) + ", +" + std::to_string(len) +
                     ") outside SharedMemory of size " + std::to_string(st.size));
  }
  if (len == 0) return;
  auto& store = detail::proxy_store();
  const std::size_t first = offset / st.chunk, last = (offset + len - 1) / st.chunk;
  // Each GETRANGE reply goes from the socket straight into `out` (Store::pipeline_into), kReadBatch
  // chunks per round trip; the first round trip also checks that the block still exists.
  constexpr std::size_t read_batch = detail::kReadBatch;
  std::vector<sdk::Command> cmds;
  std::vector<std::span<std::byte>> into;
  std::size_t pos = 0;
  for (std::size_t from = first; from <= last; from += read_batch) {
    const std::size_t to = std::min(last, from + read_batch - 1);
    cmds.clear();
    into.clear();
    std::size_t end = pos;
    for (std::size_t c = from; c <= to; ++c) {
      const std::size_t a = c == first ? offset % st.chunk : 0;
      const std::size_t b = c == last ? (offset + len - 1) % st.chunk : st.chunk - 1;
      cmds.push_back({"GETRANGE", st.chunk_key(c), std::to_string(a), std::to_string(b)});
      into.push_back(out.subspan(end, b - a + 1));
      end += b - a + 1;
    }
    if (from == first) {
      cmds.push_back({"EXISTS", st.meta});
      st.maybe_touch(cmds, store.expiry_text());
    }
    const auto replies = store.pipeline_into(cmds, into);
    detail::check_replies(replies);
    if (from == first && replies[into.size()].integer == 0) detail::throw_gone(st.name);
    for (std::size_t i = 0; i < into.size(); ++i) {
      // A chunk never written, or written only up to some point, reads as zeros beyond that.
      const auto& r = replies[i];
      const std::size_t got =
          r.type == sdk::Reply::Type::kString ? static_cast<std::size_t>(r.integer) : 0;
      const std::size_t have = std::min(into[i].size(), got);
      std::memset(into[i].data() + have, 0, into[i].size() - have);
    }
    pos = end;
  }
}

void SharedMemory::write(std::size_t offset, std::string_view bytes) {
  write(offset, std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
}

void SharedMemory::write(std::size_t offset, std::span<const std::byte> bytes) {
  check_open();
  auto& st = *s_;
  const std::size_t len = bytes.size();
  if (offset > st.size || len > st.size - offset) {
    throw ValueError("range [" + std::to_string(offset) + ", +" + std::to_string(len) +
                     ") outside SharedMemory of size " + std::to_string(st.size));
  }
  if (len == 0) return;
  auto& store = detail::proxy_store();
  const std::string ttl = store.expiry_text();
  std::vector<sdk::Command> cmds;
  cmds.push_back({"EXISTS", st.meta});
  const std::size_t first = offset / st.chunk, last = (offset + len - 1) / st.chunk;
  const char* data = reinterpret_cast<const char*>(bytes.data());
  std::size_t pos = 0;
  for (std::size_t c = first; c <= last; ++c) {
    const std::size_t a = c == first ? offset % st.chunk : 0;
    const std::size_t n = std::min(st.chunk - a, len - pos);
    const std::string key = st.chunk_key(c);
    cmds.push_back({"SETRANGE", key, std::to_string(a), std::string(data + pos, n)});
    cmds.push_back({"EXPIRE", key, ttl});
    pos += n;
  }
  st.maybe_touch(cmds, ttl);
  // Pipelines of at most kWriteBatch bytes: hiredis grows its output buffer 1 MiB at a time,
  // so one 16 MiB pipeline would copy the payload over and over (measured: 4x slower).
  std::vector<sdk::Reply> replies;
  std::vector<sdk::Command> batch;
  std::size_t bytes_in_batch = 0;
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    if (cmds[i][0] == "SETRANGE") bytes_in_batch += cmds[i][3].size();
    batch.push_back(std::move(cmds[i]));
    if (bytes_in_batch >= detail::kWriteBatch || i + 1 == cmds.size()) {
      auto part = store.pipeline(batch);
      replies.insert(replies.end(), std::make_move_iterator(part.begin()),
                     std::make_move_iterator(part.end()));
      batch.clear();
      bytes_in_batch = 0;
    }
  }
  detail::check_replies(replies);
  if (replies[0].integer == 0) {
    // Unlinked before this write: take back the chunks it recreated.
    std::vector<std::string_view> del{"DEL"};
    std::vector<std::string> keys;
    for (std::size_t c = first; c <= last; ++c) keys.push_back(st.chunk_key(c));
    del.insert(del.end(), keys.begin(), keys.end());
    store.run(del);
    detail::throw_gone(st.name);
  }
}

SharedMemory::ByteRef::operator std::uint8_t() const {
  std::byte b{};
  shm_->read_into(i_, std::span<std::byte>(&b, 1));
  return static_cast<std::uint8_t>(b);
}

SharedMemory::ByteRef& SharedMemory::ByteRef::operator=(std::uint8_t v) {
  const std::byte b{v};
  const_cast<SharedMemory*>(shm_)->write(i_, std::span<const std::byte>(&b, 1));
  return *this;
}

void SharedMemory::unlink() {
  const std::string meta = s_->meta;
  if (detail::proxy_store().eval(detail::kUnlink, {meta}, {}).integer == 0) {
    throw FileNotFoundError("[Errno 2] No such file or directory: '" + s_->name + "'");
  }
  detail::untrack_block(s_->name);
}

std::string SharedMemory::repr() const {
  return "SharedMemory('" + s_->name + "', size=" + std::to_string(s_->size) + ")";
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const SharedMemory& s) {
  jv = boost::json::object{{"$lithops", "shm"}, {"name", s.name()}};
}

SharedMemory tag_invoke(boost::json::value_to_tag<SharedMemory>, const boost::json::value& jv) {
  const auto* o = jv.if_object();
  const auto* n = o ? o->if_contains("name") : nullptr;
  if (!n || !n->is_string()) throw TypeError("expected a SharedMemory handle");
  return SharedMemory(std::string(n->get_string()));
}

// ---- ShareableList ----------------------------------------------------------------------------

namespace detail {

struct ShmListState {
  std::string name, meta, items;
  std::size_t size = 0;
  std::atomic<bool> closed{false};
  Lease lease;

  void check_open() const {
    if (closed) throw ValueError("operation on a closed ShareableList");
  }
  void maybe_touch(std::vector<sdk::Command>& cmds, const std::string& ttl) {
    if (!lease.due(proxy_store().expiry())) return;
    cmds.push_back({"EXPIRE", meta, ttl});
    cmds.push_back({"EXPIRE", items, ttl});
  }
  // Runs `cmds` after an EXISTS of the meta, with the TTL refresh when due; the replies of
  // `cmds`. FileNotFoundError if the list was unlinked.
  std::vector<sdk::Reply> run(std::vector<sdk::Command> cmds) {
    check_open();
    auto& store = proxy_store();
    const std::size_t n = cmds.size();
    cmds.insert(cmds.begin(), sdk::Command{"EXISTS", meta});
    maybe_touch(cmds, store.expiry_text());
    auto replies = store.pipeline(cmds);
    if (replies[0].integer == 0) throw_gone(name);
    check_replies(replies);
    return {std::make_move_iterator(replies.begin() + 1),
            std::make_move_iterator(replies.begin() + 1 + static_cast<std::ptrdiff_t>(n))};
  }
};

ShmListHandle ShmListHandle::create(std::optional<std::string> name,
                                    const std::vector<std::string>& items) {
  if (name) check_name(*name);
  ShmListHandle h;
  h.s_ = std::make_shared<ShmListState>();
  h.s_->name = create_block(std::move(name), items.size(), 0, "list", items);
  h.s_->meta = meta_key(h.s_->name);
  h.s_->items = h.s_->meta + ":items";
  h.s_->size = items.size();
  h.s_->lease.due(proxy_store().expiry());
  return h;
}

ShmListHandle ShmListHandle::attach(const std::string& name) {
  check_name(name);
  auto [size, chunk, kind] = find_block(name);
  if (kind != "list") throw ValueError("'" + name + "' is a SharedMemory block, not a list");
  ShmListHandle h;
  h.s_ = std::make_shared<ShmListState>();
  h.s_->name = name;
  h.s_->meta = meta_key(name);
  h.s_->items = h.s_->meta + ":items";
  h.s_->size = size;
  return h;
}

long long ShmListHandle::checked(long long i) const {
  const auto n = static_cast<long long>(s_->size);
  const long long j = i < 0 ? i + n : i;
  if (j < 0 || j >= n)
    throw IndexError("ShareableList index " + std::to_string(i) + " out of range");
  return j;
}

std::string ShmListHandle::get(long long i) const {
  const std::string idx = std::to_string(checked(i));
  return std::move(s_->run({{"LINDEX", s_->items, idx}})[0].str);
}

void ShmListHandle::set(long long i, std::string_view item) {
  const std::string idx = std::to_string(checked(i));
  s_->run({{"LSET", s_->items, idx, std::string(item)},
           {"EXPIRE", s_->items, proxy_store().expiry_text()}});
}

std::size_t ShmListHandle::size() const { return s_->size; }

long long ShmListHandle::count(std::string_view item) const {
  if (s_->size == 0) return 0;
  return static_cast<long long>(
      s_->run({{"LPOS", s_->items, std::string(item), "COUNT", "0"}})[0].elements.size());
}

std::optional<long long> ShmListHandle::index(std::string_view item) const {
  if (s_->size == 0) return std::nullopt;
  auto r = s_->run({{"LPOS", s_->items, std::string(item)}});
  if (r[0].is_nil()) return std::nullopt;
  return r[0].integer;
}

std::vector<std::string> ShmListHandle::all() const {
  if (s_->size == 0) return {};
  auto r = s_->run({{"LRANGE", s_->items, "0", "-1"}});
  std::vector<std::string> out;
  for (auto& e : r[0].elements) out.push_back(std::move(e.str));
  return out;
}

const std::string& ShmListHandle::name() const { return s_->name; }
void ShmListHandle::close() { s_->closed = true; }

void ShmListHandle::unlink() {
  const std::string meta = s_->meta;
  if (proxy_store().eval(kUnlink, {meta}, {}).integer == 0) {
    throw FileNotFoundError("[Errno 2] No such file or directory: '" + s_->name + "'");
  }
}

boost::json::value ShmListHandle::to_json() const {
  return boost::json::object{{"$lithops", "shareable_list"}, {"name", s_->name}};
}

}  // namespace detail
}  // namespace lithops::multiprocessing

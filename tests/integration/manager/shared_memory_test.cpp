// SharedMemory and ShareableList: _TestSharedMemory (SM-xx, SL-xx) and the cross-process
// byte-exact check at random offsets (1 byte to 64 MiB ranges).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <lithops/multiprocessing.hpp>

#include "proxy_internal.hpp"

namespace mp = lithops::multiprocessing;
namespace json = boost::json;

namespace {
// Deterministic content: byte i of a block filled with `seed`.
std::uint8_t pattern(std::uint64_t seed, std::size_t i) {
  std::uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ULL ^ seed;
  x ^= x >> 29;
  return static_cast<std::uint8_t>(x * 0xBF58476D1CE4E5B9ULL >> 56);
}

std::string pattern_range(std::uint64_t seed, std::size_t offset, std::size_t len) {
  std::string s(len, '\0');
  for (std::size_t i = 0; i < len; ++i) s[i] = static_cast<char>(pattern(seed, offset + i));
  return s;
}

// Writes the whole block in 8 MiB pieces.
void fill_block(std::string name, std::uint64_t seed) {
  mp::SharedMemory shm(name);
  constexpr std::size_t kPiece = 8 << 20;
  for (std::size_t off = 0; off < shm.size(); off += kPiece) {
    shm.write(off, pattern_range(seed, off, std::min(kPiece, shm.size() - off)));
  }
}

void write_howdy(std::string name) { mp::SharedMemory(name).write(0, std::string_view("howdy")); }
void write_hello(mp::SharedMemory shm) { shm.write(0, std::string_view("HELLO")); }
void touch_list(mp::ShareableList<int> sl) { sl[0] = sl.at(0) + 1; }
}  // namespace

LITHOPS_FUNCTION(fill_block);
LITHOPS_FUNCTION(write_howdy);
LITHOPS_FUNCTION(write_hello);
LITHOPS_FUNCTION(touch_list);

// SM-01: SharedMemory create/attach by name, size rules, buf writes seen by a second attach,
// errors.
TEST(SharedMemory, SM01_Basics) {
  const std::string name = "test01_tsmb_" + std::to_string(std::random_device{}());
  mp::SharedMemory shm(name, true, 512);
  EXPECT_EQ(shm.name(), name);
  EXPECT_GE(shm.size(), 512u);
  EXPECT_GE(shm.buf().size(), shm.size());
  EXPECT_NE(shm.repr().find(name), std::string::npos);
  EXPECT_NE(shm.repr().find("512"), std::string::npos);
  shm.buf()[0] = 42;
  EXPECT_EQ(static_cast<int>(shm.buf()[0]), 42);
  mp::SharedMemory also(name);
  EXPECT_EQ(static_cast<int>(also.buf()[0]), 42);
  // Attaching with a larger size ignores it.
  mp::SharedMemory bigger(name, false, 5000);
  EXPECT_EQ(bigger.size(), 512u);
  EXPECT_THROW(mp::SharedMemory(name, true, -2), mp::ValueError);
  EXPECT_THROW(mp::SharedMemory(std::nullopt, false), mp::ValueError);
  EXPECT_THROW(mp::SharedMemory(name, true, 512), mp::FileExistsError);
  EXPECT_THROW(mp::SharedMemory("no_such_" + name), mp::FileNotFoundError);
  shm.close();
  EXPECT_THROW(shm.read(0, 1), mp::ValueError);
  shm.unlink();
  EXPECT_THROW(shm.unlink(), mp::FileNotFoundError);
  EXPECT_THROW(also.read(0, 1), mp::FileNotFoundError);
  EXPECT_THROW(also.write(0, std::string_view("x")), mp::FileNotFoundError);
  // The name is free again, and a new block reads as zeros.
  mp::SharedMemory again(name, true, 16);
  EXPECT_EQ(again.read(0, 16), std::string(16, '\0'));
  again.unlink();
}

TEST(SharedMemory, SM02_NameWithEmbeddedNull) {
  EXPECT_THROW(mp::SharedMemory(std::string("a\0b", 3)), mp::ValueError);
  EXPECT_THROW(mp::SharedMemory(std::string("a\0b", 3), true, 8), mp::ValueError);
}

// CPython patches _make_filename to return a taken name first; here the generator is replaced.
TEST(SharedMemory, SM03_GeneratedNameThatExistsIsReplacedByTheNext) {
  auto& generate = mp::detail::shm_name_generator();
  const auto original = generate;
  mp::SharedMemory taken(64);
  std::vector<std::string> offered{taken.name(), taken.name(), "psm_sm03_" + taken.name()};
  std::size_t calls = 0;
  generate = [&] { return offered.at(std::min(calls++, offered.size() - 1)); };
  try {
    mp::SharedMemory fresh(16);
    generate = original;
    EXPECT_EQ(fresh.name(), offered[2]) << "the taken name is skipped, not reused";
    EXPECT_EQ(calls, 3U);
    EXPECT_EQ(fresh.size(), 16U);
    EXPECT_EQ(mp::SharedMemory(taken.name()).size(), 64U) << "the existing block is untouched";
    fresh.unlink();
  } catch (...) {
    generate = original;
    throw;
  }
  taken.unlink();
}

// SM-04: SharedMemory(create=True) with size -1, 0 or no size raises ValueError.
TEST(SharedMemory, SM04_InvalidCreation) {
  EXPECT_THROW(mp::SharedMemory(std::nullopt, true, -1), mp::ValueError);
  EXPECT_THROW(mp::SharedMemory(std::nullopt, true, 0), mp::ValueError);
  EXPECT_THROW(mp::SharedMemory(std::nullopt, true), mp::ValueError);
}

TEST(SharedMemory, SM05_SerialisedHandleAttachesToTheSameBlock) {
  mp::SharedMemory shm(64);
  EXPECT_EQ(shm.name().rfind("psm_", 0), 0u);
  auto copy = json::value_to<mp::SharedMemory>(json::value_from(shm));
  EXPECT_EQ(copy.name(), shm.name());
  shm.write(0, std::string_view("abc"));
  EXPECT_EQ(copy.read(0, 3), "abc");
  copy.write(3, std::string_view("def"));
  EXPECT_EQ(shm.read(0, 6), "abcdef");
  shm.unlink();
}

TEST(SharedMemory, SM06_DeserialiseAfterUnlinkRaises) {
  mp::SharedMemory shm(64);
  const auto handle = json::value_from(shm);
  shm.close();
  shm.unlink();
  EXPECT_THROW(json::value_to<mp::SharedMemory>(handle), mp::FileNotFoundError);
}

// SM-07: a child attached by name, or handed the object, writes bytes the parent then sees.
TEST(SharedMemory, SM07_AcrossProcesses) {
  mp::SharedMemory shm(32);
  mp::Process by_name(write_howdy, shm.name());
  by_name.start();
  by_name.join();
  EXPECT_EQ(by_name.exitcode(), 0);
  EXPECT_EQ(shm.read(0, 5), "howdy");
  mp::Process by_handle(write_hello, shm);
  by_handle.start();
  by_handle.join();
  EXPECT_EQ(by_handle.exitcode(), 0);
  EXPECT_EQ(shm.read(0, 5), "HELLO");
  shm.unlink();
}

TEST(SharedMemory, SM08_ManagerUnlinksItsBlocksAtShutdown) {
  std::string block, list;
  {
    mp::Manager m;
    auto shm = m.SharedMemory(40);
    auto sl = m.ShareableList<int>({1, 2, 3, 4, 5});
    block = shm.name();
    list = sl.name();
    EXPECT_EQ(mp::ShareableList<int>::attach(list).size(), 5u);
    EXPECT_GE(mp::SharedMemory(block).size(), 32u);
  }
  EXPECT_THROW(mp::SharedMemory{block}, mp::FileNotFoundError);
  EXPECT_THROW(mp::ShareableList<int>::attach(list), mp::FileNotFoundError);
}

TEST(SharedMemory, WrittenByOneProcessReadByAnotherAtRandomOffsets) {
  constexpr std::size_t kSize = (64 << 20) + 12345;  // not a whole number of chunks
  constexpr std::uint64_t kSeed = 0x5eed;
  mp::SharedMemory shm(static_cast<std::int64_t>(kSize));
  mp::Process writer(fill_block, shm.name(), kSeed);
  writer.start();
  writer.join();
  ASSERT_EQ(writer.exitcode(), 0);
  std::mt19937_64 rng(42);
  // Lengths from 1 byte to 64 MiB (the whole block at offset 0), chunk edges included.
  std::vector<std::pair<std::size_t, std::size_t>> ranges{
      {0, 1}, {kSize - 1, 1}, {(1 << 20) - 1, 2}, {(1 << 20) - 3, (2 << 20) + 6}, {0, 64 << 20}};
  for (std::size_t len : {1ul, 7ul, 4096ul, 100000ul, 1ul << 20, 3ul << 20, 16ul << 20}) {
    for (int i = 0; i < 3; ++i) ranges.emplace_back(rng() % (kSize - len + 1), len);
  }
  for (auto [off, len] : ranges) {
    const std::string got = shm.read(off, len);
    ASSERT_EQ(got.size(), len);
    ASSERT_TRUE(got == pattern_range(kSeed, off, len)) << "range " << off << " +" << len;
  }
  EXPECT_THROW(shm.read(kSize, 1), mp::ValueError);
  EXPECT_THROW(shm.write(kSize - 1, std::string_view("ab")), mp::ValueError);
  shm.unlink();
}

TEST(SharedMemory, SpanWritesAndUnwrittenChunksReadAsZeros) {
  mp::SharedMemory shm(3 << 20);
  const std::vector<std::byte> bytes{std::byte{1}, std::byte{2}, std::byte{3}};
  shm.write((2 << 20) + 5, std::span<const std::byte>(bytes));
  const std::string got = shm.read((2 << 20) + 4, 5);
  EXPECT_EQ(got, std::string("\0\1\2\3\0", 5));
  EXPECT_EQ(shm.read(0, 1 << 20), std::string(1 << 20, '\0'));
  shm.unlink();
}

// Reads go from the socket straight into the caller's buffer, one GETRANGE per chunk: every
// edge of that must be byte-exact.
TEST(SharedMemory, ReadsAtChunkEdgesAndAcrossChunksAreByteExact) {
  constexpr std::size_t kChunk = 1 << 20;
  constexpr std::size_t kSize = 3 * kChunk + 100;  // a short last chunk
  constexpr std::uint64_t kSeed = 0xed9e;
  mp::SharedMemory shm(static_cast<std::int64_t>(kSize));
  shm.write(0, pattern_range(kSeed, 0, kSize));
  const std::vector<std::pair<std::size_t, std::size_t>> ranges{
      {kChunk - 1, 1},       {kChunk, 1},       {kChunk - 1, 2},
      {0, kChunk},           {kChunk, kChunk},  {kChunk - 5, kChunk + 10},
      {7, 3 * kChunk},       {0, kSize},        {kSize - 1, 1},
      {3 * kChunk - 1, 101}, {3 * kChunk, 100}, {2 * kChunk + 17, kChunk + 83}};
  for (auto [off, len] : ranges) {
    const std::string got = shm.read(off, len);
    ASSERT_EQ(got.size(), len);
    ASSERT_TRUE(got == pattern_range(kSeed, off, len)) << "range " << off << " +" << len;
    // read_into fills exactly the span it is given.
    std::vector<std::byte> buf(len + 2, std::byte{0xAB});
    shm.read_into(off, std::span<std::byte>(buf).subspan(1, len));
    EXPECT_EQ(buf.front(), std::byte{0xAB});
    EXPECT_EQ(buf.back(), std::byte{0xAB});
    ASSERT_TRUE(std::memcmp(buf.data() + 1, got.data(), len) == 0)
        << "range " << off << " +" << len;
  }
  // 0 bytes anywhere up to the end is fine; anything past the end raises, naming the range.
  EXPECT_EQ(shm.read(0, 0), "");
  EXPECT_EQ(shm.read(kSize, 0), "");
  EXPECT_THROW(shm.read(kSize + 1, 0), mp::ValueError);
  EXPECT_THROW(shm.read(kSize, 1), mp::ValueError);
  EXPECT_THROW(shm.read(kSize - 10, 11), mp::ValueError);
  EXPECT_THROW(shm.read(0, kSize + 1), mp::ValueError);
  try {
    shm.read(kChunk, 3 * kChunk);
    ADD_FAILURE() << "expected mp::ValueError";
  } catch (const mp::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("outside SharedMemory of size"), std::string::npos)
        << e.what();
  }
  shm.unlink();
  EXPECT_THROW(shm.read(kChunk - 1, 2), mp::FileNotFoundError);
}

TEST(SharedMemory, ReadAcrossWrittenAndUnwrittenChunksFillsZeros) {
  constexpr std::size_t kChunk = 1 << 20;
  mp::SharedMemory shm(static_cast<std::int64_t>(4 * kChunk));
  // Chunk 1 written only in its middle, chunk 2 up to 10 bytes before its end, 0 and 3 never.
  const std::string mid = pattern_range(1, 0, 1000);
  const std::string most = pattern_range(2, 0, kChunk - 10);
  shm.write(kChunk + 5000, mid);
  shm.write(2 * kChunk, most);
  std::string want(3 * kChunk + 20, '\0');
  want.replace(kChunk + 5000 - 10, mid.size(), mid);
  want.replace(2 * kChunk - 10, most.size(), most);
  const std::string got = shm.read(10, want.size());
  ASSERT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want);
  // A buffer with old content: the zeros are written, not assumed.
  std::vector<std::byte> buf(want.size(), std::byte{0x5A});
  shm.read_into(10, buf);
  EXPECT_TRUE(std::memcmp(buf.data(), want.data(), want.size()) == 0);
  shm.unlink();
}

// SL-01: ShareableList of mixed types: repr, IndexError, format, index(), type change in a slot.
TEST(ShareableList, SL01_Basics) {
  std::vector<json::value> items{"howdy", "HoWdY", -273.154, 100, nullptr, true, 42};
  mp::ShareableList<json::value> sl(items);
  EXPECT_EQ(sl.size(), 7u);
  EXPECT_THROW(sl.at(7), mp::IndexError);
  EXPECT_THROW(sl[7] = 2, mp::IndexError);
  EXPECT_THROW(sl.index(json::value("100")), mp::ValueError);
  EXPECT_EQ(sl.index(100), 3u);
  EXPECT_EQ(sl.at(-2), json::value(true));
  EXPECT_EQ(sl.to_vector(), items);
  sl[4] = json::value("some");
  EXPECT_EQ(sl.at(4), json::value("some"));
  sl[0] = json::value("a string much longer than the original slot");
  EXPECT_EQ(sl.at(1), json::value("HoWdY"));  // neighbours untouched
  EXPECT_EQ(sl.count(42), 1u);
  EXPECT_EQ(sl.count(json::value("HoWdY")), 1u);
  EXPECT_EQ(sl.count(json::value("adios")), 0u);
  // A copy under a new name is independent.
  const std::string name = "sl01_copy_" + std::to_string(std::random_device{}());
  mp::ShareableList<json::value> copy(sl.to_vector(), name);
  EXPECT_EQ(copy.name(), name);
  EXPECT_EQ(copy.to_vector(), sl.to_vector());
  copy[0] = 1;
  EXPECT_NE(sl.at(0), json::value(1));
  EXPECT_THROW(mp::ShareableList<int>({1}, name), mp::FileExistsError);
  // A second handle by name sees writes.
  auto other = mp::ShareableList<json::value>::attach(sl.name());
  sl[2] = 1.5;
  EXPECT_EQ(other.at(2), json::value(1.5));
  // Empty.
  mp::ShareableList<int> empty(std::vector<int>{});
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.count(1), 0u);
  EXPECT_THROW(empty.index(0), mp::ValueError);
  for (auto* l : {&sl, &copy}) l->unlink();
  empty.unlink();
}

TEST(ShareableList, SL02_SerialisedHandleAttachesAndOnlyTheNameTravels) {
  mp::ShareableList<int> small(std::vector<int>(3, 0));
  mp::ShareableList<int> large(std::vector<int>(1000, 0));
  const auto a = json::serialize(json::value_from(small));
  const auto b = json::serialize(json::value_from(large));
  EXPECT_EQ(a.size(), b.size());
  mp::Process p(touch_list, small);
  p.start();
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(small.at(0), 1);
  auto again = json::value_to<mp::ShareableList<int>>(json::value_from(small));
  again[1] = 5;
  EXPECT_EQ(small.at(1), 5);
  small.unlink();
  large.unlink();
}

TEST(ShareableList, SL03_DeserialiseAfterUnlinkRaises) {
  mp::ShareableList<int> sl(std::vector<int>{1, 2});
  const auto handle = json::value_from(sl);
  sl.unlink();
  EXPECT_THROW(json::value_to<mp::ShareableList<int>>(handle), mp::FileNotFoundError);
  EXPECT_THROW(sl.at(0), mp::FileNotFoundError);
}

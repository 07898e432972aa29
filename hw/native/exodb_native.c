// ExoDB's native CRC32C (Castagnoli, reflected polynomial 0x82F63B78), loaded with Deno.dlopen.
//
// Why native: the SSE4.2 `crc32` instruction has a 3-cycle latency but a throughput of one per
// cycle, so three independent lanes over one buffer run about three times faster than one chain.
// The lanes are joined with GF(2) polynomial arithmetic: crc(A||B) = crc(A)·x^(8|B|) ⊕ crc'(B),
// where crc'(B) is B's CRC started from a zero register. Everything here is derived from that
// identity; the software path (no SSE4.2) is a plain bytewise table and is only a fallback.
//
// Invariant: exo_crc32c(seed, p, n) equals the standard CRC32C of p[0..n) continued from `seed`
// (seed 0 for a fresh CRC), i.e. it composes like zlib's crc32(): crc(A||B) = f(f(0,A),B).
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define POLY 0x82f63b78u

// Multiply two polynomials modulo POLY in the reflected bit order (bit 31 is x^0).
static uint32_t mul_mod_p(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
    if (a & bit) product ^= b;
    b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;
  }
  return product;
}

// x^(8·bytes) mod POLY by square-and-multiply over x^(2^k).
static uint32_t x_pow_bytes(uint64_t bytes) {
  uint32_t result = 1u << 31;      // x^0
  uint32_t square = 1u << 23;      // x^8 (one byte of shift)
  while (bytes != 0) {
    if (bytes & 1) result = mul_mod_p(square, result);
    square = mul_mod_p(square, square);
    bytes >>= 1;
  }
  return result;
}

// Threads: the library is called from several isolates (kernel, I/O worker, parallel tests) on
// different threads at once. Shared state (tables) is written only by the load-time constructor
// below and only read afterwards.
static uint32_t table[256];

static uint32_t soft_update(uint32_t crc, const uint8_t* p, size_t n) {
  while (n--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>

static int has_sse42(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  return (c & bit_SSE4_2) != 0;
}

// One chain of 8-byte steps; the register is raw (no pre/post inversion).
__attribute__((target("sse4.2"))) static uint32_t hw_chain(uint32_t crc, const uint8_t* p,
                                                          size_t n) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t word;
    memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  crc = (uint32_t)c;
  while (n--) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}

// Shifting a CRC register past `lane` zero bytes is multiplication by x^(8·lane), which is linear
// over GF(2): shift(c) = ⊕_k shift(byte_k(c) << 8k). Four 256-entry tables make it four lookups
// instead of a 32-step multiply. Lanes come in three fixed lengths, so the tables are built once,
// at load (measured: rebuilding them per call for a new lane length cost ~40 µs, which made
// variable-length WAL records — page images — far slower to checksum than whole blocks).
#define LANE_HUGE_BYTES 8192
#define LANE_LONG_BYTES 2048
#define LANE_SHORT_BYTES 256
static uint32_t shift_huge[4][256];
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];

static void shift_table_build(uint32_t table_out[4][256], uint64_t lane) {
  uint32_t x = x_pow_bytes(lane);
  for (int k = 0; k < 4; k++) {
    for (uint32_t b = 0; b < 256; b++) table_out[k][b] = mul_mod_p(x, b << (8 * k));
  }
}

static inline uint32_t shift_lane(const uint32_t t[4][256], uint32_t c) {
  return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

// Three interleaved chains over consecutive lanes of `lane` bytes (hiding the crc32
// instruction's latency), joined by shifting: crc(A‖B‖C) = shift(shift(crc(A)) ⊕ crc(B)) ⊕ crc(C).
__attribute__((target("sse4.2"))) static uint32_t hw_three_lanes(
    uint32_t crc, const uint8_t* p, size_t lane, const uint32_t t[4][256]) {
  const uint8_t* a = p;
  const uint8_t* b = p + lane;
  const uint8_t* c = p + 2 * lane;
  uint64_t ca = crc, cb = 0, cc = 0;
  for (size_t i = 0; i < lane; i += 8) {
    uint64_t wa, wb, wc;
    memcpy(&wa, a + i, 8);
    memcpy(&wb, b + i, 8);
    memcpy(&wc, c + i, 8);
    ca = _mm_crc32_u64(ca, wa);
    cb = _mm_crc32_u64(cb, wb);
    cc = _mm_crc32_u64(cc, wc);
  }
  uint32_t joined = shift_lane(t, (uint32_t)ca) ^ (uint32_t)cb;
  return shift_lane(t, joined) ^ (uint32_t)cc;
}

__attribute__((target("sse4.2"))) static uint32_t hw_update(uint32_t crc, const uint8_t* p,
                                                           size_t n) {
  while (n >= 3 * LANE_HUGE_BYTES) {
    crc = hw_three_lanes(crc, p, LANE_HUGE_BYTES, shift_huge);
    p += 3 * LANE_HUGE_BYTES;
    n -= 3 * LANE_HUGE_BYTES;
  }
  while (n >= 3 * LANE_LONG_BYTES) {
    crc = hw_three_lanes(crc, p, LANE_LONG_BYTES, shift_long);
    p += 3 * LANE_LONG_BYTES;
    n -= 3 * LANE_LONG_BYTES;
  }
  while (n >= 3 * LANE_SHORT_BYTES) {
    crc = hw_three_lanes(crc, p, LANE_SHORT_BYTES, shift_short);
    p += 3 * LANE_SHORT_BYTES;
    n -= 3 * LANE_SHORT_BYTES;
  }
  return hw_chain(crc, p, n);
}
#endif

static int use_hardware = 0;

// Runs once when the library is loaded, before any thread can call in.
__attribute__((constructor)) static void exo_native_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
    table[i] = c;
  }
#if defined(__x86_64__)
  use_hardware = has_sse42();
  shift_table_build(shift_huge, LANE_HUGE_BYTES);
  shift_table_build(shift_long, LANE_LONG_BYTES);
  shift_table_build(shift_short, LANE_SHORT_BYTES);
#endif
}

// Returns 1 when the hardware path is in use, 0 for the table fallback.
int exo_crc32c_hardware(void) { return use_hardware; }

uint32_t exo_crc32c(uint32_t seed, const uint8_t* p, size_t n) {
  uint32_t crc = ~seed;
#if defined(__x86_64__)
  if (use_hardware) return ~hw_update(crc, p, n);
#endif
  return ~soft_update(crc, p, n);
}

// Seals a run of WAL records laid back to back in p[0..n): each record starts with its total
// length (u32, little-endian, header included) and gets the CRC32C of its bytes [8, length)
// stored at its bytes [4, 8). One call seals a whole flush, so the kernel crosses into native
// code once per flush instead of once per record (dbengine/wal/record.ts has the format).
// Returns the number of records sealed, or -1 when a length is below the 32-byte header or runs
// past n (nothing after that record is sealed).
// Invariant: exactly the records' CRC fields are written; every other byte is left as it was.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "exo_seal_records reads and writes little-endian fields with memcpy"
#endif
int64_t exo_seal_records(uint8_t* p, size_t n) {
  int64_t sealed = 0;
  size_t at = 0;
  while (at < n) {
    uint32_t length;
    memcpy(&length, p + at, 4);
    if (length < 32 || length > n - at) return -1;
    uint32_t crc = exo_crc32c(0, p + at + 8, length - 8);
    memcpy(p + at + 4, &crc, 4);
    at += length;
    sealed++;
  }
  return sealed;
}

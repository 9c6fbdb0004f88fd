/**
 * fixq's own minimal `ap_int.h`, `ap_fixed.h` and `hls_stream.h`, written
 * into DIR/ap_types/ so the generated HLS C++ simulates with plain g++. They
 * implement, from the documented semantics (UG1399 "Arbitrary Precision
 * Data Types"; /work/shared/numerics.md), exactly the subset fixq's code uses:
 *   ap_int<W> / ap_uint<W>, 1 ≤ W ≤ 64: construction from any integer or ap
 *     value keeps the low W bits (two's complement wrap, v mod 2^W re-centred
 *     for signed); to_int(), to_uint(), to_int64(), to_uint64(), to_long();
 *     a * b of two ap values, exact (UG1399: the product is W1 + W2 bits wide;
 *     here a 64-bit value, exact while W1 + W2 ≤ 63, which fixq's code keeps);
 *     a += b with an ap value b: the sum wrapped to W bits (UG1399: the
 *     result is truncated to the target's width). Arithmetic modulo 2^64
 *     agrees with exact arithmetic modulo 2^W for every W ≤ 64.
 *   ap_fixed<W,I,Q,O,N> / ap_ufixed<…>, 1 ≤ W ≤ 32: value = V·2^-(W-I);
 *     construction from double x: V' = Q(x·2^F) with Q one of AP_TRN (floor),
 *     AP_TRN_ZERO (toward 0), AP_RND (half up), AP_RND_ZERO (half toward 0),
 *     AP_RND_MIN_INF (half down), AP_RND_INF (half away from 0), AP_RND_CONV
 *     (half to even); then O: AP_SAT / AP_SAT_ZERO / AP_SAT_SYM clamp,
 *     AP_SAT_SYM also maps min to −max, AP_WRAP keeps the low W bits (N = 0
 *     only; AP_WRAP_SM absent); to_double().
 *   hls::stream<T>: an unbounded FIFO (as in C simulation) with write(x),
 *     read(), read(x), empty(), full() (never), size(), << and >>.
 * Anything else is absent on purpose: the generated code must compile
 * unchanged against Xilinx's headers, so it may use only what both provide.
 */

export const AP_INT_H = `// ap_int.h: fixq's minimal arbitrary-precision integers (subset of UG1399's ap_int/ap_uint, W <= 64).
#ifndef FIXQ_AP_INT_H
#define FIXQ_AP_INT_H
#include <stdint.h>

namespace fixq_ap {
// The low W bits of v as an unsigned word.
template <int W> inline uint64_t low_bits(uint64_t v) { return W >= 64 ? v : (v & ((uint64_t(1) << (W % 64)) - 1)); }
// Sign-extends the low W bits of v (two's complement), without implementation-defined conversions.
template <int W> inline int64_t sign_extend(uint64_t v) {
  uint64_t u = low_bits<W>(v);
  uint64_t sign = uint64_t(1) << (W - 1);
  return (u & sign) ? -int64_t(((~u) & low_bits<W>(~uint64_t(0))) ) - 1 : int64_t(u);
}
}  // namespace fixq_ap

template <int W> class ap_uint;

template <int W> class ap_int {
  static_assert(W >= 1 && W <= 64, "fixq's ap_int supports 1 <= W <= 64");
  int64_t v_;
 public:
  ap_int() : v_(0) {}
  ap_int(long long x) : v_(fixq_ap::sign_extend<W>(uint64_t(x))) {}
  ap_int(unsigned long long x) : v_(fixq_ap::sign_extend<W>(uint64_t(x))) {}
  ap_int(long x) : v_(fixq_ap::sign_extend<W>(uint64_t(x))) {}
  ap_int(unsigned long x) : v_(fixq_ap::sign_extend<W>(uint64_t(x))) {}
  ap_int(int x) : v_(fixq_ap::sign_extend<W>(uint64_t(int64_t(x)))) {}
  ap_int(unsigned x) : v_(fixq_ap::sign_extend<W>(uint64_t(x))) {}
  template <int V> ap_int(const ap_int<V> &x) : v_(fixq_ap::sign_extend<W>(uint64_t(x.to_int64()))) {}
  template <int V> ap_int(const ap_uint<V> &x) : v_(fixq_ap::sign_extend<W>(x.to_uint64())) {}
  template <typename T> ap_int &operator+=(const T &x) {
    v_ = fixq_ap::sign_extend<W>(uint64_t(v_) + x.to_uint64());
    return *this;
  }
  int to_int() const { return int(v_); }
  unsigned to_uint() const { return unsigned(uint64_t(v_)); }
  long to_long() const { return long(v_); }
  long long to_int64() const { return v_; }
  unsigned long long to_uint64() const { return uint64_t(v_); }
};

template <int W> class ap_uint {
  static_assert(W >= 1 && W <= 64, "fixq's ap_uint supports 1 <= W <= 64");
  uint64_t v_;
 public:
  ap_uint() : v_(0) {}
  ap_uint(long long x) : v_(fixq_ap::low_bits<W>(uint64_t(x))) {}
  ap_uint(unsigned long long x) : v_(fixq_ap::low_bits<W>(uint64_t(x))) {}
  ap_uint(long x) : v_(fixq_ap::low_bits<W>(uint64_t(x))) {}
  ap_uint(unsigned long x) : v_(fixq_ap::low_bits<W>(uint64_t(x))) {}
  ap_uint(int x) : v_(fixq_ap::low_bits<W>(uint64_t(int64_t(x)))) {}
  ap_uint(unsigned x) : v_(fixq_ap::low_bits<W>(uint64_t(x))) {}
  template <int V> ap_uint(const ap_int<V> &x) : v_(fixq_ap::low_bits<W>(x.to_uint64())) {}
  template <int V> ap_uint(const ap_uint<V> &x) : v_(fixq_ap::low_bits<W>(x.to_uint64())) {}
  template <typename T> ap_uint &operator+=(const T &x) {
    v_ = fixq_ap::low_bits<W>(v_ + x.to_uint64());
    return *this;
  }
  int to_int() const { return int(fixq_ap::sign_extend<32>(v_)); }
  unsigned to_uint() const { return unsigned(v_); }
  long to_long() const { return long(v_); }
  long long to_int64() const { return fixq_ap::sign_extend<64>(v_); }
  unsigned long long to_uint64() const { return v_; }
};

// a * b of two ap values: exact (the operands' widths add up to at most 63 bits in fixq's code).
template <int W1, int W2> inline ap_int<64> operator*(const ap_int<W1> &a, const ap_int<W2> &b) { return ap_int<64>(a.to_uint64() * b.to_uint64()); }
template <int W1, int W2> inline ap_int<64> operator*(const ap_int<W1> &a, const ap_uint<W2> &b) { return ap_int<64>(a.to_uint64() * b.to_uint64()); }
template <int W1, int W2> inline ap_int<64> operator*(const ap_uint<W1> &a, const ap_int<W2> &b) { return ap_int<64>(a.to_uint64() * b.to_uint64()); }
template <int W1, int W2> inline ap_int<64> operator*(const ap_uint<W1> &a, const ap_uint<W2> &b) { return ap_int<64>(a.to_uint64() * b.to_uint64()); }
#endif
`;

export const AP_FIXED_H = `// ap_fixed.h: fixq's minimal fixed-point types (subset of UG1399's ap_fixed/ap_ufixed, W <= 32).
#ifndef FIXQ_AP_FIXED_H
#define FIXQ_AP_FIXED_H
#include <math.h>
#include <stdint.h>
#include "ap_int.h"

enum ap_q_mode { AP_RND, AP_RND_ZERO, AP_RND_MIN_INF, AP_RND_INF, AP_RND_CONV, AP_TRN, AP_TRN_ZERO };
enum ap_o_mode { AP_SAT, AP_SAT_ZERO, AP_SAT_SYM, AP_WRAP, AP_WRAP_SM };

namespace fixq_ap {
// Q(s): s = x * 2^F exactly (a double); the rounding modes of UG1399 on it.
inline double quantize(double s, ap_q_mode q) {
  double f = floor(s), frac = s - f;
  switch (q) {
    case AP_TRN: return f;
    case AP_TRN_ZERO: return s < 0 ? ceil(s) : f;
    case AP_RND: return frac >= 0.5 ? f + 1 : f;
    case AP_RND_MIN_INF: return frac > 0.5 ? f + 1 : f;
    case AP_RND_ZERO: return frac > 0.5 || (frac == 0.5 && s < 0) ? f + 1 : f;
    case AP_RND_INF: return frac > 0.5 || (frac == 0.5 && s > 0) ? f + 1 : f;
    case AP_RND_CONV: return frac > 0.5 || (frac == 0.5 && fmod(f, 2.0) != 0) ? f + 1 : f;
  }
  return f;
}
}  // namespace fixq_ap

template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N> class fixq_fixed_base {
  static_assert(W >= 1 && W <= 32, "fixq's ap_fixed supports 1 <= W <= 32");
  static_assert(O != AP_WRAP_SM && (O == AP_WRAP || N == 0) && N == 0, "fixq's ap_fixed supports N = 0 and no AP_WRAP_SM");
  int64_t v_;  // V: the value is V * 2^-(W-I)
  static double lo() { return S ? -ldexp(1.0, W - 1) : 0.0; }
  static double hi() { return S ? ldexp(1.0, W - 1) - 1 : ldexp(1.0, W) - 1; }
  // AP_SAT_SYM's lower bound, formed as the bits min | 1 (so -1, i.e. min, for W = 1)
  static double neg_max() { return W == 1 ? -1.0 : -hi(); }
 public:
  fixq_fixed_base() : v_(0) {}
  fixq_fixed_base(double x) {
    double r = fixq_ap::quantize(ldexp(x, W - I), Q);
    if (r < lo() || r > hi()) {
      if (O == AP_SAT) r = r < lo() ? lo() : hi();
      else if (O == AP_SAT_ZERO) r = 0;
      else if (O == AP_SAT_SYM) r = r < lo() ? (S ? neg_max() : 0.0) : hi();
      else {  // AP_WRAP: the low W bits; r fits in +-2^63 since |x| < 2^(63-W+I) is required
        uint64_t u = uint64_t(int64_t(r));
        r = S ? double(fixq_ap::sign_extend<W>(u)) : double(fixq_ap::low_bits<W>(u));
      }
    } else if (O == AP_SAT_SYM && S && r == lo()) {
      r = neg_max();
    }
    v_ = int64_t(r);
  }
  double to_double() const { return ldexp(double(v_), I - W); }
};

template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
class ap_fixed : public fixq_fixed_base<W, I, true, Q, O, N> {
 public:
  ap_fixed() {}
  ap_fixed(double x) : fixq_fixed_base<W, I, true, Q, O, N>(x) {}
};

template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
class ap_ufixed : public fixq_fixed_base<W, I, false, Q, O, N> {
 public:
  ap_ufixed() {}
  ap_ufixed(double x) : fixq_fixed_base<W, I, false, Q, O, N>(x) {}
};
#endif
`;

export const HLS_STREAM_H = `// hls_stream.h: fixq's minimal hls::stream (an unbounded FIFO, as in C simulation; write, read, empty, full, size, << and >>).
#ifndef FIXQ_HLS_STREAM_H
#define FIXQ_HLS_STREAM_H
#include <deque>
#include <stdio.h>
#include <stdlib.h>

namespace hls {
template <typename T> class stream {
  std::deque<T> q_;
 public:
  stream() {}
  explicit stream(const char *) {}
  void write(const T &x) { q_.push_back(x); }
  T read() {
    if (q_.empty()) { fprintf(stderr, "hls::stream: read from an empty stream\\n"); abort(); }
    T x = q_.front();
    q_.pop_front();
    return x;
  }
  void read(T &x) { x = read(); }
  void operator<<(const T &x) { write(x); }
  void operator>>(T &x) { x = read(); }
  bool empty() const { return q_.empty(); }
  bool full() const { return false; }
  size_t size() const { return q_.size(); }
};
}  // namespace hls
#endif
`;

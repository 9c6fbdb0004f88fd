/**
 * fixq's own minimal `ap_int.h`, `ap_fixed.h` and `hls_stream.h`, written
 * into DIR/ap_types/ so the generated HLS C++ simulates with plain g++. They
 * implement, from the documented semantics (UG1399 "Arbitrary Precision
 * Data Types"; /work/shared/numerics.md), exactly the subset fixq's code uses:
 *   ap_int<W> / ap_uint<W>, 1 ≤ W ≤ 128 (ap_uint ≤ 127; values held in a
 *     GCC/Clang __int128): construction from any C integer or ap value keeps
 *     the low W bits (two's complement wrap, v mod 2^W re-centred for signed);
 *     to_int(), to_uint(), to_int64(), to_uint64(), to_long() (the low 32 / 64
 *     bits); a += b with an ap value b: the sum wrapped to W bits (UG1399: the
 *     result is truncated to the target's width);
 *     a * b, a + b, a − b of ap values, exact, in UG1399's result types:
 *     a·b is W1 + W2 bits, a ± b max(W1 + (S2 ∧ ¬S1), W2 + (S1 ∧ ¬S2)) + 1
 *     bits, signed when an operand is (a − b always), a C int operand taken
 *     as ap_int<32>; comparisons of values (<, <=, >, >=, ==, !=, also with
 *     a C int); a >> s (s ≥ 0 an int or an ap_uint) in a's type, arithmetic for ap_int (the
 *     floor of a / 2^s), logical for ap_uint; a << s in a's type, bits
 *     shifted out lost.
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

export const AP_INT_H = `// ap_int.h: fixq's minimal arbitrary-precision integers (subset of UG1399's ap_int/ap_uint, W <= 128).
#ifndef FIXQ_AP_INT_H
#define FIXQ_AP_INT_H
#include <stdint.h>

namespace fixq_ap {
// The low W bits of v as an unsigned word (W <= 64; ap_fixed.h uses these).
template <int W> inline uint64_t low_bits(uint64_t v) { return W >= 64 ? v : (v & ((uint64_t(1) << (W % 64)) - 1)); }
// Sign-extends the low W bits of v (two's complement), without implementation-defined conversions.
template <int W> inline int64_t sign_extend(uint64_t v) {
  uint64_t u = low_bits<W>(v);
  uint64_t sign = uint64_t(1) << (W - 1);
  return (u & sign) ? -int64_t(((~u) & low_bits<W>(~uint64_t(0))) ) - 1 : int64_t(u);
}

__extension__ typedef __int128 wide;
__extension__ typedef unsigned __int128 uwide;
// The value of the low W bits of u: two's complement when S, else unsigned.
template <int W, bool S> inline wide norm(uwide u) {
  // up to 64 bits: the 64-bit helpers (the same bits, faster in C simulation)
  if (W <= 64) return S ? wide(sign_extend<(W <= 64 ? W : 64)>(uint64_t(u))) : wide(low_bits<(W <= 64 ? W : 64)>(uint64_t(u)));
  const uwide mask = W >= 128 ? ~uwide(0) : (uwide(1) << (W % 128)) - 1;
  const uwide low = u & mask;
  if (!S || !((low >> (W - 1)) & 1)) return wide(low);
  return -wide(~low & mask) - 1;
}
// A value's bits, to construct a result from (the low W bits are kept).
struct raw { uwide v; };

// What ap_int<W> (S) and ap_uint<W> (!S) share: the value, sign- or zero-extended to 128 bits.
template <int W, bool S> class num {
  static_assert(W >= 1 && W <= (S ? 128 : 127), "fixq's ap_int supports 1 <= W <= 128, ap_uint 1 <= W <= 127");
 protected:
  wide v_;
  void set(uwide u) { v_ = norm<W, S>(u); }
 public:
  num() : v_(0) {}
  wide fixq_value() const { return v_; }
  int to_int() const { return int(norm<32, true>(uwide(v_))); }
  unsigned to_uint() const { return unsigned(norm<32, false>(uwide(v_))); }
  long to_long() const { return long(norm<64, true>(uwide(v_))); }
  long long to_int64() const { return (long long)(norm<64, true>(uwide(v_))); }
  unsigned long long to_uint64() const { return (unsigned long long)(norm<64, false>(uwide(v_))); }
};
}  // namespace fixq_ap

#define FIXQ_AP_CLASS(NAME, S) \\
  template <int W> class NAME : public fixq_ap::num<W, S> { \\
   public: \\
    NAME() {} \\
    NAME(int x) { this->set(fixq_ap::uwide(fixq_ap::wide(x))); } \\
    NAME(unsigned x) { this->set(fixq_ap::uwide(x)); } \\
    NAME(long x) { this->set(fixq_ap::uwide(fixq_ap::wide(x))); } \\
    NAME(unsigned long x) { this->set(fixq_ap::uwide(x)); } \\
    NAME(long long x) { this->set(fixq_ap::uwide(fixq_ap::wide(x))); } \\
    NAME(unsigned long long x) { this->set(fixq_ap::uwide(x)); } \\
    template <int V, bool T> NAME(const fixq_ap::num<V, T> &x) { this->set(fixq_ap::uwide(x.fixq_value())); } \\
    explicit NAME(fixq_ap::raw r) { this->set(r.v); } \\
    template <int V, bool T> NAME &operator+=(const fixq_ap::num<V, T> &x) { \\
      this->set(fixq_ap::uwide(this->v_) + fixq_ap::uwide(x.fixq_value())); \\
      return *this; \\
    } \\
  };
FIXQ_AP_CLASS(ap_int, true)
FIXQ_AP_CLASS(ap_uint, false)
#undef FIXQ_AP_CLASS

namespace fixq_ap {
template <int W, bool S> struct type_of { typedef ap_int<W> t; };
template <int W> struct type_of<W, false> { typedef ap_uint<W> t; };
constexpr int wmax(int a, int b) { return a > b ? a : b; }
// UG1399's result types: a * b is W1 + W2 bits; a + b and a - b are max(W1 + (S2 && !S1), W2 + (S1 && !S2)) + 1
// bits; signed when an operand is (a - b always); a C int operand counts as ap_int<32>.
template <int W1, bool S1, int W2, bool S2> struct rtype {
  typedef typename type_of<W1 + W2, S1 || S2>::t mult;
  typedef typename type_of<wmax(W1 + (S2 && !S1), W2 + (S1 && !S2)) + 1, S1 || S2>::t plus;
  typedef ap_int<wmax(W1 + (S2 && !S1), W2 + (S1 && !S2)) + 1> minus;
};
}  // namespace fixq_ap

// Exact: the result type holds every result (the arithmetic is modulo 2^128, then the result's W bits).
#define FIXQ_AP_ARITH(OP, R) \\
  template <int W1, bool S1, int W2, bool S2> \\
  inline typename fixq_ap::rtype<W1, S1, W2, S2>::R operator OP(const fixq_ap::num<W1, S1> &a, const fixq_ap::num<W2, S2> &b) { \\
    return typename fixq_ap::rtype<W1, S1, W2, S2>::R(fixq_ap::raw{fixq_ap::uwide(a.fixq_value()) OP fixq_ap::uwide(b.fixq_value())}); \\
  } \\
  template <int W, bool S> inline typename fixq_ap::rtype<W, S, 32, true>::R operator OP(const fixq_ap::num<W, S> &a, int b) { return a OP ap_int<32>(b); } \\
  template <int W, bool S> inline typename fixq_ap::rtype<32, true, W, S>::R operator OP(int a, const fixq_ap::num<W, S> &b) { return ap_int<32>(a) OP b; }
FIXQ_AP_ARITH(*, mult)
FIXQ_AP_ARITH(+, plus)
FIXQ_AP_ARITH(-, minus)
#undef FIXQ_AP_ARITH

// Comparisons of the values (any widths and signs, and C ints).
#define FIXQ_AP_CMP(OP) \\
  template <int W1, bool S1, int W2, bool S2> inline bool operator OP(const fixq_ap::num<W1, S1> &a, const fixq_ap::num<W2, S2> &b) { return a.fixq_value() OP b.fixq_value(); } \\
  template <int W, bool S> inline bool operator OP(const fixq_ap::num<W, S> &a, int b) { return a.fixq_value() OP fixq_ap::wide(b); } \\
  template <int W, bool S> inline bool operator OP(int a, const fixq_ap::num<W, S> &b) { return fixq_ap::wide(a) OP b.fixq_value(); }
FIXQ_AP_CMP(<)
FIXQ_AP_CMP(<=)
FIXQ_AP_CMP(>)
FIXQ_AP_CMP(>=)
FIXQ_AP_CMP(==)
FIXQ_AP_CMP(!=)
#undef FIXQ_AP_CMP

// a << s keeps a's type (bits shifted out are lost); a >> s keeps a's type and is arithmetic for ap_int
// (the floor of a / 2^s), logical for ap_uint; 0 <= s.
template <int W, bool S> inline typename fixq_ap::type_of<W, S>::t operator<<(const fixq_ap::num<W, S> &a, int s) {
  return typename fixq_ap::type_of<W, S>::t(fixq_ap::raw{s >= 128 || s < 0 ? fixq_ap::uwide(0) : fixq_ap::uwide(a.fixq_value()) << s});
}
template <int W, bool S> inline typename fixq_ap::type_of<W, S>::t operator>>(const fixq_ap::num<W, S> &a, int s) {
  const fixq_ap::wide v = a.fixq_value();
  const int k = s > 127 ? 127 : s < 0 ? 0 : s;
  return typename fixq_ap::type_of<W, S>::t(fixq_ap::raw{fixq_ap::uwide(v >= 0 ? v >> k : ~(~v >> k))});
}
// The same by an ap_uint amount.
template <int W, bool S, int W2> inline typename fixq_ap::type_of<W, S>::t operator>>(const fixq_ap::num<W, S> &a, const fixq_ap::num<W2, false> &s) {
  return a >> (s.fixq_value() > 127 ? 127 : int(s.fixq_value()));
}
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

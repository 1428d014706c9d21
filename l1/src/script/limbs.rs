//! Limb arithmetic within Bitcoin script's number rules.
//!
//! Script arithmetic takes operands of at most 4 bytes, so the widest non-negative
//! number a gadget can feed to an opcode is `2^31 - 1`. Every gadget here works on
//! *limbs* of `bits ≤ 31` bits (values in `[0, 2^bits)`), keeps every intermediate
//! value within `[-(2^31 - 1), 2^31 - 1]`, and avoids the disabled opcodes (no
//! `OP_MUL`, no bitwise opcodes).
//!
//! Conventions:
//! - Stack effects are written bottom to top, top of the stack rightmost.
//! - A multi-limb number `[a_0, .., a_{n-1}]` has its least significant limb `a_0`
//!   deepest and its most significant limb `a_{n-1}` on top.
//! - A decomposition `[x] -> [d_{m-1}, .., d_0]` leaves the most significant digit
//!   deepest and the least significant digit `d_0` on top (so the digits read from
//!   the bottom up are the number written in base `2^k`).
//! - A [u32 word](#u32-words) is 8 nibbles `[n_7, .., n_0]` (`n_0` on top) with value
//!   `sum n_i 16^i`: a u32 does not fit a script number, nibbles do, and nibbles
//!   make XOR a 256-entry table lookup.
//! - "Assumes" means the gadget's result is meaningless (but no other stack item is
//!   touched) when the assumption is broken; "verifies" means the script fails.
//!
//! Gadget sizes are the byte length of the returned [`Script`]; the tests print and
//! pin them.
//!
//! # u32 words
//!
//! A u32 word is 8 nibbles, most significant deepest. [`u32_from_u16_pair`] and
//! [`u32_to_u16_pair`] convert from and to two 16-bit script numbers `[hi, lo]`;
//! [`to_nibbles`] turns any limb of at most 31 bits into nibbles of the same shape
//! and [`from_nibbles`] back. XOR needs the nibble tables of [`push_u4_tables`]
//! on the stack.

use bitcoin::opcodes::all::{
    OP_1ADD, OP_2DROP, OP_2DUP, OP_ADD, OP_BOOLAND, OP_BOOLOR, OP_DROP, OP_DUP, OP_ELSE, OP_ENDIF,
    OP_FROMALTSTACK, OP_GREATERTHAN, OP_GREATERTHANOREQUAL, OP_IF, OP_LESSTHAN, OP_NIP, OP_NOT, OP_NUMEQUAL,
    OP_OVER, OP_PICK, OP_ROLL, OP_ROT, OP_SUB, OP_SWAP, OP_TOALTSTACK, OP_TUCK, OP_VERIFY, OP_WITHIN,
};

use super::{Script, MAX_SCRIPT_NUM};

/// `2^k` for `k ≤ 31`.
fn pow2(k: u32) -> i64 {
    1i64 << k
}

/// Copies the item `depth` deep to the top: `[x, (depth items)] -> [x, (..), x]`.
///
/// `OP_DUP` / `OP_OVER` for depths 0 / 1, else `<depth> OP_PICK`.
pub fn pick(depth: usize) -> Script {
    match depth {
        0 => Script::new().op(OP_DUP),
        1 => Script::new().op(OP_OVER),
        _ => Script::new().num(depth as i64).op(OP_PICK),
    }
}

/// Moves the item `depth` deep to the top: `[x, (depth items)] -> [(..), x]`.
///
/// Nothing for depth 0, `OP_SWAP` / `OP_ROT` for 1 / 2, else `<depth> OP_ROLL`.
pub fn roll(depth: usize) -> Script {
    match depth {
        0 => Script::new(),
        1 => Script::new().op(OP_SWAP),
        2 => Script::new().op(OP_ROT),
        _ => Script::new().num(depth as i64).op(OP_ROLL),
    }
}

/// Drops `n` items from the top: `[(n items)] -> []` (`OP_2DROP` per pair).
pub fn drop_items(n: usize) -> Script {
    let script = Script::new().ops(OP_2DROP, n / 2);
    if n % 2 == 1 {
        script.op(OP_DROP)
    } else {
        script
    }
}

fn assert_bits(bits: u32) {
    assert!((1..=31).contains(&bits), "limb width {bits} is not in 1..=31");
}

/// Verifies `0 ≤ x < 2^bits`: `[x] -> []`.
///
/// An `x` longer than 4 bytes fails too (arithmetic operands are at most 4 bytes;
/// note that tapscript consensus does not require minimal encodings, so a padded
/// encoding of an in-range value passes). 3–8 bytes.
///
/// Numbers from the witness may be padded this way, and gadgets that pass an input
/// through unchanged ([`range_check_keep`], the last digit of [`to_windows`]) pass
/// its encoding too: compare numbers with `OP_NUMEQUAL`, never byte-wise with
/// `OP_EQUAL`, or a disprove leaf could call two equal values different.
///
/// # Panics
/// If `bits` is not in `1..=31`.
pub fn range_check(bits: u32) -> Script {
    assert_bits(bits);
    if bits == 31 {
        Script::new().num(0).op(OP_GREATERTHANOREQUAL).op(OP_VERIFY)
    } else {
        Script::new().num(0).num(pow2(bits)).op(OP_WITHIN).op(OP_VERIFY)
    }
}

/// Verifies `0 ≤ x < 2^bits` and keeps `x`: `[x] -> [x]`.
///
/// # Panics
/// If `bits` is not in `1..=31`.
pub fn range_check_keep(bits: u32) -> Script {
    Script::new().op(OP_DUP).then(range_check(bits))
}

/// Normalises a sum `s < 2^(bits+1)` (at most `2^31 - 1`) to `[s mod 2^bits, carry]`.
fn normalize_sum(bits: u32) -> Script {
    let base = pow2(bits);
    // Two shapes; pick the shorter for this constant.
    let tuck = Script::new()
        .op(OP_DUP)
        .num(base)
        .op(OP_GREATERTHANOREQUAL)
        .op(OP_TUCK)
        .op(OP_IF)
        .num(base)
        .op(OP_SUB)
        .op(OP_ENDIF)
        .op(OP_SWAP);
    let dup2 = Script::new()
        .num(base)
        .op(OP_2DUP)
        .op(OP_GREATERTHANOREQUAL)
        .op(OP_IF)
        .op(OP_SUB)
        .num(1)
        .op(OP_ELSE)
        .op(OP_DROP)
        .num(0)
        .op(OP_ENDIF);
    if tuck.len() <= dup2.len() {
        tuck
    } else {
        dup2
    }
}

/// For 31-bit limbs: `[a, t] -> [(a + MAX - t) mod 2^31, carry]` where
/// `t = MAX - (b [+ c])` may be `-1`; the carry is `a > t`.
fn add31_from_complement() -> Script {
    Script::new()
        .op(OP_2DUP)
        .op(OP_GREATERTHAN)
        .op(OP_IF)
        // a + b - 2^31 = a - (t + 1); here t < a, so t + 1 ≤ MAX.
        .op(OP_1ADD)
        .op(OP_SUB)
        .num(1)
        .op(OP_ELSE)
        // a + b = a + (MAX - t) ≤ MAX because a ≤ t.
        .num(MAX_SCRIPT_NUM)
        .op(OP_SWAP)
        .op(OP_SUB)
        .op(OP_ADD)
        .num(0)
        .op(OP_ENDIF)
}

/// Addition with carry out: `[a, b] -> [(a + b) mod 2^bits, carry]`.
///
/// Assumes `0 ≤ a, b < 2^bits` (not verified). Works for every width up to 31: for
/// 31-bit limbs, whose sum does not fit a script number, it compares `a` with
/// `2^31 - 1 - b` instead of adding first. 10–24 bytes.
///
/// # Panics
/// If `bits` is not in `1..=31`.
pub fn add_carry(bits: u32) -> Script {
    assert_bits(bits);
    if bits == 31 {
        Script::new().num(MAX_SCRIPT_NUM).op(OP_SWAP).op(OP_SUB).then(add31_from_complement())
    } else {
        Script::new().op(OP_ADD).then(normalize_sum(bits))
    }
}

/// Addition with carry in and out: `[a, b, c] -> [(a + b + c) mod 2^bits, carry]`.
///
/// Assumes `0 ≤ a, b < 2^bits` and `c ∈ {0, 1}` (not verified). 11–27 bytes.
///
/// # Panics
/// If `bits` is not in `1..=31`.
pub fn add_carry_in(bits: u32) -> Script {
    assert_bits(bits);
    if bits == 31 {
        // [a b c] -> [a c (MAX - b)] -> [a (MAX - b - c)], at least -1.
        Script::new()
            .op(OP_SWAP)
            .num(MAX_SCRIPT_NUM)
            .op(OP_SWAP)
            .op(OP_SUB)
            .op(OP_SWAP)
            .op(OP_SUB)
            .then(add31_from_complement())
    } else {
        Script::new().op(OP_ADD).op(OP_ADD).then(normalize_sum(bits))
    }
}

/// `[d] -> [d mod 2^bits, d < 0]` for `-2^bits < d < 2^bits`.
fn normalize_difference(bits: u32) -> Script {
    let wrap = if bits == 31 {
        // d + 2^31 = (d + MAX) + 1, each step within range because d < 0.
        Script::new().num(MAX_SCRIPT_NUM).op(OP_ADD).op(OP_1ADD)
    } else {
        Script::new().num(pow2(bits)).op(OP_ADD)
    };
    Script::new().op(OP_DUP).num(0).op(OP_LESSTHAN).op(OP_TUCK).op(OP_IF).then(wrap).op(OP_ENDIF).op(OP_SWAP)
}

/// Subtraction with borrow out: `[a, b] -> [(a - b) mod 2^bits, borrow]`, where
/// `borrow = (a < b)`.
///
/// Assumes `0 ≤ a, b < 2^bits` (not verified). 10–15 bytes.
///
/// # Panics
/// If `bits` is not in `1..=31`.
pub fn sub_borrow(bits: u32) -> Script {
    assert_bits(bits);
    Script::new().op(OP_SUB).then(normalize_difference(bits))
}

/// Subtraction with borrow in and out:
/// `[a, b, c] -> [(a - b - c) mod 2^bits, borrow]`, `borrow = (a < b + c)`.
///
/// Assumes `0 ≤ a, b < 2^bits` and `c ∈ {0, 1}` (not verified). 11–35 bytes.
///
/// # Panics
/// If `bits` is not in `1..=31`.
pub fn sub_borrow_in(bits: u32) -> Script {
    assert_bits(bits);
    if bits == 31 {
        // b + c may not fit: subtract twice and add the two borrows (at most one is 1).
        Script::new()
            .op(OP_TOALTSTACK)
            .then(sub_borrow(31))
            .op(OP_SWAP)
            .op(OP_FROMALTSTACK)
            .then(sub_borrow(31))
            .op(OP_ROT)
            .op(OP_ADD)
    } else {
        Script::new().op(OP_ADD).op(OP_SUB).then(normalize_difference(bits))
    }
}

/// Multi-limb addition:
/// `[a_0 .. a_{n-1}, b_0 .. b_{n-1}] -> [s_0 .. s_{n-1}, carry]` with
/// `s + carry·2^(n·bits) = a + b` (limb 0 least significant, deepest).
///
/// Assumes every limb in `[0, 2^bits)` (not verified).
///
/// # Panics
/// If `bits` is not in `1..=31` or `n == 0`.
pub fn add_n(n: usize, bits: u32) -> Script {
    assert_bits(bits);
    assert!(n > 0, "add_n of zero limbs");
    Script::new().for_each(n, |i| {
        // [a_i .. a_{n-1}, b_i .. b_{n-1}, (s_0 .. s_{i-1}), (carry)]; results stay
        // in place as the inputs below them are rolled out.
        let carry = usize::from(i > 0);
        let a_depth = (n - i - 1) + (n - i) + i + carry;
        let b_depth = (n - i - 1) + i + carry + 1;
        let fetched = roll(a_depth).then(roll(b_depth));
        if i == 0 {
            fetched.then(add_carry(bits))
        } else if bits == 31 {
            fetched.then(roll(2)).then(add_carry_in(bits))
        } else {
            fetched.then(add_carry_in(bits))
        }
    })
}

/// Multi-limb subtraction:
/// `[a_0 .. a_{n-1}, b_0 .. b_{n-1}] -> [d_0 .. d_{n-1}, borrow]` with
/// `d = a - b + borrow·2^(n·bits)` (limb 0 least significant, deepest).
///
/// Assumes every limb in `[0, 2^bits)` (not verified).
///
/// # Panics
/// If `bits` is not in `1..=31` or `n == 0`.
pub fn sub_n(n: usize, bits: u32) -> Script {
    assert_bits(bits);
    assert!(n > 0, "sub_n of zero limbs");
    Script::new().for_each(n, |i| {
        let borrow = usize::from(i > 0);
        let a_depth = (n - i - 1) + (n - i) + i + borrow;
        let b_depth = (n - i - 1) + i + borrow + 1;
        let fetched = roll(a_depth).then(roll(b_depth));
        if i == 0 {
            fetched.then(sub_borrow(bits))
        } else {
            // [borrow a b] -> [a b borrow]
            fetched.then(roll(2)).then(sub_borrow_in(bits))
        }
    })
}

/// Multi-limb equality: `[a_0 .. a_{n-1}, b_0 .. b_{n-1}] -> [a == b]`.
///
/// Limbs are compared as numbers (`OP_NUMEQUAL`), so any encoding of a limb of at
/// most 4 bytes compares by its value (a longer one fails). About 5 bytes per limb.
///
/// # Panics
/// If `n == 0`.
pub fn equal_n(n: usize) -> Script {
    assert!(n > 0, "equal_n of zero limbs");
    Script::new().for_each(n, |i| {
        // Compare the top limbs a_{n-1-i}, b_{n-1-i}; `eq` sits on top after the first.
        if i == 0 {
            roll(n).op(OP_NUMEQUAL)
        } else {
            // [.., a_{m-1}, b_0 .. b_{m-1}, eq] with m = n - i: swap eq under b_{m-1},
            // then a_{m-1} is m + 1 deep.
            Script::new().op(OP_SWAP).then(roll(n - i + 1)).op(OP_NUMEQUAL).op(OP_BOOLAND)
        }
    })
}

/// Multi-limb unsigned comparison: `[a_0 .. a_{n-1}, b_0 .. b_{n-1}] -> [a < b]`.
///
/// Assumes the limbs of both numbers have the same width (any width up to 31 bits;
/// limbs must be numbers, which the opcodes verify). About 11 bytes per limb.
///
/// # Panics
/// If `n == 0`.
pub fn less_than_n(n: usize) -> Script {
    assert!(n > 0, "less_than_n of zero limbs");
    Script::new().for_each(n, |i| {
        // [a_i .. a_{n-1}, b_i .. b_{n-1}, (lt)], least significant limb first:
        // lt_i = a_i < b_i || (a_i == b_i && lt_{i-1}).
        let lt = usize::from(i > 0);
        let a_depth = (n - i - 1) + (n - i) + lt;
        let b_depth = (n - i - 1) + lt + 1;
        let fetched = roll(a_depth).then(roll(b_depth));
        if i == 0 {
            fetched.op(OP_LESSTHAN)
        } else {
            fetched
                .op(OP_2DUP)
                .op(OP_LESSTHAN)
                .op(OP_TOALTSTACK)
                .op(OP_NUMEQUAL)
                .op(OP_BOOLAND)
                .op(OP_FROMALTSTACK)
                .op(OP_BOOLOR)
        }
    })
}

/// Multi-limb unsigned comparison: `[a_0 .. a_{n-1}, b_0 .. b_{n-1}] -> [a ≥ b]`.
///
/// [`less_than_n`] followed by `OP_NOT`.
///
/// # Panics
/// If `n == 0`.
pub fn greater_or_equal_n(n: usize) -> Script {
    less_than_n(n).op(OP_NOT)
}

/// One step of a top-down decomposition with digit accumulation:
/// `[d, x] -> [d + v·[x ≥ t], x - t·[x ≥ t]]`.
fn accumulate_step(t: i64, v: i64) -> Script {
    let dup2 = Script::new()
        .num(t)
        .op(OP_2DUP)
        .op(OP_GREATERTHANOREQUAL)
        .op(OP_IF)
        .op(OP_SUB)
        .op(OP_SWAP)
        .num(v)
        .op(OP_ADD)
        .op(OP_SWAP)
        .op(OP_ELSE)
        .op(OP_DROP)
        .op(OP_ENDIF);
    let tuck = Script::new()
        .op(OP_DUP)
        .num(t)
        .op(OP_GREATERTHANOREQUAL)
        .op(OP_IF)
        .num(t)
        .op(OP_SUB)
        .op(OP_SWAP)
        .num(v)
        .op(OP_ADD)
        .op(OP_SWAP)
        .op(OP_ENDIF);
    if dup2.len() <= tuck.len() {
        dup2
    } else {
        tuck
    }
}

/// The first step of a digit: `[x] -> [v·[x ≥ t], x - t·[x ≥ t]]`.
fn first_step(t: i64, v: i64) -> Script {
    let dup2 = Script::new()
        .num(t)
        .op(OP_2DUP)
        .op(OP_GREATERTHANOREQUAL)
        .op(OP_IF)
        .op(OP_SUB)
        .num(v)
        .op(OP_ELSE)
        .op(OP_DROP)
        .num(0)
        .op(OP_ENDIF)
        .op(OP_SWAP);
    let tuck = if v == 1 {
        Script::new()
            .op(OP_DUP)
            .num(t)
            .op(OP_GREATERTHANOREQUAL)
            .op(OP_TUCK)
            .op(OP_IF)
            .num(t)
            .op(OP_SUB)
            .op(OP_ENDIF)
    } else {
        dup2.clone()
    };
    if dup2.len() <= tuck.len() {
        dup2
    } else {
        tuck
    }
}

/// Decomposition into `k`-bit windows: `[x] -> [d_{m-1} .. d_0]`, `m = ceil(bits/k)`,
/// `x = sum d_j 2^(jk)`, least significant window `d_0` on top. The top window has
/// `bits - (m-1)k` bits.
///
/// **Verifies** `0 ≤ x < 2^bits` (the last remainder is range-checked). About
/// `|2^p| + 11` bytes per extracted bit (`|2^p|` the push size of the bit's weight)
/// plus 5 bytes.
///
/// # Panics
/// If `bits` is not in `1..=31` or `k` not in `1..=bits`.
pub fn to_windows(bits: u32, k: u32) -> Script {
    assert_bits(bits);
    assert!((1..=bits).contains(&k), "window width {k} is not in 1..={bits}");
    let digits = bits.div_ceil(k);
    let mut script = Script::new();
    for j in (1..digits).rev() {
        let low = j * k;
        let high = bits.min(low + k);
        for (n, p) in (low..high).rev().enumerate() {
            let t = pow2(p);
            let v = pow2(p - low);
            script = if n == 0 { script.then(first_step(t, v)) } else { script.then(accumulate_step(t, v)) };
        }
    }
    // The remainder is d_0 and must be below 2^k (or 2^bits for a single window).
    let last = if digits == 1 { bits } else { k };
    script.op(OP_DUP).then(range_check(last))
}

/// Recomposition from `k`-bit windows: `[d_{m-1} .. d_0] -> [x]` with
/// `x = sum d_j 2^(jk)` and `m = ceil(bits/k)` (the inverse of [`to_windows`]).
///
/// Assumes `0 ≤ d_j < 2^k` and that the top window fits (not verified; use
/// [`range_check`] on the result or the digits when they come from a witness).
/// At most `2k + 4` bytes per digit.
///
/// # Panics
/// If `bits` is not in `1..=31` or `k` not in `1..=bits`.
pub fn from_windows(bits: u32, k: u32) -> Script {
    assert_bits(bits);
    assert!((1..=bits).contains(&k), "window width {k} is not in 1..={bits}");
    let digits = bits.div_ceil(k) as usize;
    // Horner from the deepest (most significant) digit.
    let mut script = roll(digits - 1);
    for remaining in (1..digits).rev() {
        script =
            script.repeat(&Script::new().op(OP_DUP).op(OP_ADD), k as usize).then(roll(remaining)).op(OP_ADD);
    }
    script
}

/// Bit decomposition: `[x] -> [bit_{bits-1} .. bit_0]` (least significant bit on
/// top). **Verifies** `0 ≤ x < 2^bits`.
///
/// # Panics
/// If `bits` is not in `1..=31`.
pub fn to_bits(bits: u32) -> Script {
    to_windows(bits, 1)
}

/// Bit recomposition: `[bit_{bits-1} .. bit_0] -> [x]`. Assumes every bit is 0 or 1
/// (not verified). At most 6 bytes per bit.
///
/// # Panics
/// If `bits` is not in `1..=31`.
pub fn from_bits(bits: u32) -> Script {
    from_windows(bits, 1)
}

/// Nibble decomposition: `[x] -> [n_{m-1} .. n_0]`, `m = ceil(bits/4)`, least
/// significant nibble on top. **Verifies** `0 ≤ x < 2^bits`.
///
/// # Panics
/// If `bits` is not in `1..=31`.
pub fn to_nibbles(bits: u32) -> Script {
    to_windows(bits, bits.min(4))
}

/// Nibble recomposition: `[n_{m-1} .. n_0] -> [x]`. Assumes nibbles in `[0, 16)`.
///
/// # Panics
/// If `bits` is not in `1..=31`.
pub fn from_nibbles(bits: u32) -> Script {
    from_windows(bits, bits.min(4))
}

/// Multiplication by double-and-add, for `bits ≤ 15`: `[a, b] -> [a·b]`.
///
/// Walks the bits of `b` from the top (extracting each by comparison and
/// subtraction) and doubles the accumulator in between; no `OP_MUL`. Assumes
/// `0 ≤ a < 2^bits`; **verifies** `0 ≤ b < 2^bits` (the last bit feeds `OP_IF`, which
/// MINIMALIF restricts to 0 or 1, and a negative `b` leaves a non-bit there).
///
/// # Panics
/// If `bits` is not in `1..=15`.
pub fn mul(bits: u32) -> Script {
    assert!((1..=15).contains(&bits), "mul takes limbs of 1..=15 bits, not {bits}");
    // [a x acc]
    let mut script = Script::new().num(0);
    for p in (1..bits).rev() {
        let t = pow2(p);
        if p + 1 != bits {
            script = script.op(OP_DUP).op(OP_ADD);
        }
        script = script
            .op(OP_OVER)
            .num(t)
            .op(OP_GREATERTHANOREQUAL)
            .op(OP_IF)
            .op(OP_SWAP)
            .num(t)
            .op(OP_SUB)
            .op(OP_SWAP)
            .num(2)
            .op(OP_PICK)
            .op(OP_ADD)
            .op(OP_ENDIF);
    }
    if bits > 1 {
        script = script.op(OP_DUP).op(OP_ADD);
    }
    // The remainder is bit 0: [a x acc] -> [a acc x] -> IF acc += a.
    script.op(OP_SWAP).op(OP_IF).op(OP_OVER).op(OP_ADD).op(OP_ENDIF).op(OP_NIP)
}

/// Multiplication with a table of multiples, for `bits ≤ 15`: `[a, b] -> [a·b]`.
///
/// Splits `b` into `w`-bit windows, pushes `[0, a, 2a, .., (2^w - 1)a]`, and runs
/// Horner over the windows, picking each window's multiple with one `OP_PICK`.
/// Assumes `0 ≤ a < 2^bits`; **verifies** `0 ≤ b < 2^bits`.
///
/// # Panics
/// If `bits` is not in `1..=15` or `w` not in `1..=bits.min(5)`.
pub fn mul_windowed(bits: u32, w: u32) -> Script {
    assert!((1..=15).contains(&bits), "mul_windowed takes limbs of 1..=15 bits, not {bits}");
    assert!((1..=bits.min(5)).contains(&w), "window width {w} is not in 1..={}", bits.min(5));
    let digits = bits.div_ceil(w) as usize;
    let top_bits = bits - (digits as u32 - 1) * w;
    let size = 1usize << w;
    // Complement b so that digit c_j = (2^w - 1) - d_j is the depth of d_j's entry
    // in an ascending table (largest multiple on top).
    let mut script = Script::new()
        .num(pow2(bits) - 1)
        .op(OP_SWAP)
        .op(OP_SUB)
        .then(to_windows(bits, w))
        // [a c_{m-1} .. c_0] -> [c.., a] -> [c.., 0, a, 2a, ..]
        .then(roll(digits))
        .num(0)
        .op(OP_SWAP);
    for k in 2..size {
        // entry k = entry k-1 + a; a sits k-1 deep once entry k-1 is duplicated.
        script = script.op(OP_DUP).then(pick(k - 1)).op(OP_ADD);
    }
    // The top window has fewer bits: its complement is taken against 2^top - 1.
    let adjust = (size - (1usize << top_bits)) as i64;
    script = script.then(roll(size + digits - 1));
    if adjust != 0 {
        script = script.num(adjust).op(OP_ADD);
    }
    script = script.op(OP_PICK);
    for j in (0..digits - 1).rev() {
        script = script
            .repeat(&Script::new().op(OP_DUP).op(OP_ADD), w as usize)
            .then(roll(size + 1 + j))
            .op(OP_1ADD)
            .op(OP_PICK)
            .op(OP_ADD);
    }
    script.op(OP_TOALTSTACK).then(drop_items(size)).op(OP_FROMALTSTACK)
}

/// Doubles a two-limb accumulator: `[hi, lo] -> [2hi + c, 2lo mod 2^bits]`.
fn double_wide(bits: u32) -> Script {
    let half = pow2(bits - 1);
    Script::new()
        .num(half)
        .op(OP_2DUP)
        .op(OP_GREATERTHANOREQUAL)
        .op(OP_IF)
        .op(OP_SUB)
        .num(1)
        .op(OP_ELSE)
        .op(OP_DROP)
        .num(0)
        .op(OP_ENDIF)
        // [hi lo' c] -> [lo' 2hi + c] -> [2hi + c, 2lo']
        .op(OP_ROT)
        .op(OP_DUP)
        .op(OP_ADD)
        .op(OP_ADD)
        .op(OP_SWAP)
        .op(OP_DUP)
        .op(OP_ADD)
}

/// `[hi, lo, y] -> [hi + c, (lo + y) mod 2^bits]` for `y < 2^bits`.
fn add_wide_limb(bits: u32) -> Script {
    add_carry(bits).op(OP_ROT).op(OP_ADD).op(OP_SWAP)
}

/// Wide multiplication by double-and-add, for `16 ≤ bits ≤ 31`:
/// `[a, b] -> [lo, hi]` with `a·b = hi·2^bits + lo`, both in `[0, 2^bits)`.
///
/// The accumulator is two limbs; each bit of `b` doubles it (with carry) and
/// conditionally adds `a`. Assumes `0 ≤ a < 2^bits`; **verifies** `0 ≤ b < 2^bits`.
///
/// # Panics
/// If `bits` is not in `16..=31`.
pub fn mul_wide(bits: u32) -> Script {
    assert!((16..=31).contains(&bits), "mul_wide takes limbs of 16..=31 bits, not {bits}");
    // [a x hi lo]
    let mut script = Script::new().num(0).num(0);
    for p in (1..bits).rev() {
        let t = pow2(p);
        if p + 1 != bits {
            script = script.then(double_wide(bits));
        }
        script = script
            .num(2)
            .op(OP_PICK)
            .num(t)
            .op(OP_GREATERTHANOREQUAL)
            .op(OP_IF)
            .op(OP_ROT)
            .num(t)
            .op(OP_SUB)
            .op(OP_ROT)
            .op(OP_ROT)
            .num(3)
            .op(OP_PICK)
            .then(add_wide_limb(bits))
            .op(OP_ENDIF);
    }
    script = script.then(double_wide(bits));
    // The remainder is bit 0 (OP_IF verifies it is 0 or 1).
    script
        .op(OP_ROT)
        .op(OP_IF)
        .num(2)
        .op(OP_PICK)
        .then(add_wide_limb(bits))
        .op(OP_ENDIF)
        // [a hi lo] -> [lo hi]
        .op(OP_ROT)
        .op(OP_DROP)
        .op(OP_SWAP)
}

/// Wide multiplication with a table of multiples, for `16 ≤ bits ≤ 31`:
/// `[a, b] -> [lo, hi]` with `a·b = hi·2^bits + lo`.
///
/// Splits `b` into `w`-bit windows, pushes the two-limb multiples `k·a` for
/// `k < 2^w`, and per window shifts the accumulator by `w` bits (doublings) and adds
/// one picked multiple. Assumes `0 ≤ a < 2^bits`; **verifies** `0 ≤ b < 2^bits`.
///
/// # Panics
/// If `bits` is not in `16..=31` or `w` not in `1..=4`.
pub fn mul_wide_windowed(bits: u32, w: u32) -> Script {
    assert!((16..=31).contains(&bits), "mul_wide_windowed takes limbs of 16..=31 bits, not {bits}");
    assert!((1..=4).contains(&w), "window width {w} is not in 1..=4");
    let digits = bits.div_ceil(w) as usize;
    let top_bits = bits - (digits as u32 - 1) * w;
    let size = 1usize << w;
    // [a b] -> [a c_{m-1} .. c_0] (complemented digits, as in mul_windowed)
    let mut script =
        Script::new().num(pow2(bits) - 1).op(OP_SWAP).op(OP_SUB).then(to_windows(bits, w)).then(roll(digits));
    // Table of (hi, lo) pairs, entry 0 deepest: [c.., 0 0, 0 a, ...]; entry k = entry
    // k-1 + a, with a the lo limb of entry 1.
    script = script.num(0).op(OP_SWAP).num(0).op(OP_SWAP).num(0).op(OP_SWAP);
    // Now [c.., 0, 0, 0, a]: entry 0 = (0, 0), entry 1 = (0, a).
    for k in 2..size {
        // Copy entry k-1 (top two items), then add a (the lo of entry 1, which is
        // 2(k-2) + 2 items below the copy's top after the copy).
        script = script.op(OP_2DUP).then(pick(2 * (k - 1))).then(add_wide_limb(bits));
    }
    // Lookup of complemented digit c: entry (2^w - 1 - c) has its lo at depth 2c
    // and hi at depth 2c + 1, counted from the table's top.
    let adjust = (size - (1usize << top_bits)) as i64;
    // First window: accumulator = entry.
    script = script.then(roll(2 * size + digits - 1));
    if adjust != 0 {
        script = script.num(adjust).op(OP_ADD);
    }
    // [T.., c] -> [T.., 2c] -> [T.., lo_e, 2c] -> [T.., lo_e, hi_e] -> [T.., hi_e, lo_e]
    script = script
        .op(OP_DUP)
        .op(OP_ADD)
        .op(OP_DUP)
        .op(OP_1ADD)
        .op(OP_PICK)
        .op(OP_SWAP)
        .num(2)
        .op(OP_ADD)
        .op(OP_PICK)
        .op(OP_SWAP);
    for j in (0..digits - 1).rev() {
        script = script.repeat(&double_wide(bits), w as usize).then(roll(2 * size + 2 + j));
        // [T.., hi, lo, c] -> [T.., hi, lo, 2c]: lo_e is 2c + 3 deep, then with lo_e
        // on top hi_e is 2c + 4 deep.
        script = script
            .op(OP_DUP)
            .op(OP_ADD)
            .op(OP_DUP)
            .num(3)
            .op(OP_ADD)
            .op(OP_PICK)
            .op(OP_SWAP)
            .num(4)
            .op(OP_ADD)
            .op(OP_PICK)
            // [T.., hi, lo, lo_e, hi_e] -> hi += hi_e, then add lo_e with carry.
            .num(3)
            .op(OP_ROLL)
            .op(OP_ADD)
            .op(OP_ROT)
            .op(OP_ROT)
            // [T.., hi', lo, lo_e]
            .then(add_wide_limb(bits));
    }
    // [T.., hi, lo] -> [lo, hi]
    script
        .op(OP_SWAP)
        .op(OP_TOALTSTACK)
        .op(OP_TOALTSTACK)
        .then(drop_items(2 * size))
        .op(OP_FROMALTSTACK)
        .op(OP_FROMALTSTACK)
}

/// Multiplication by a build-time constant with a double-and-add chain:
/// `[a] -> [a·k]`.
///
/// Horner over the bits of `k` (one `OP_DUP OP_ADD` per bit, one `OP_OVER OP_ADD`
/// per set bit below the top one; a power of two is doublings only). Assumes
/// `a ≥ 0` and `a·k ≤ 2^31 - 1` (every intermediate value is at most the result).
/// `k = 0` drops `a` and pushes 0.
pub fn mul_const(k: u32) -> Script {
    if k == 0 {
        return Script::new().op(OP_DROP).num(0);
    }
    let top = 31 - k.leading_zeros();
    if k.is_power_of_two() {
        return Script::new().repeat(&Script::new().op(OP_DUP).op(OP_ADD), top as usize);
    }
    let mut script = Script::new().op(OP_DUP);
    for p in (0..top).rev() {
        script = script.op(OP_DUP).op(OP_ADD);
        if k >> p & 1 == 1 {
            script = script.op(OP_OVER).op(OP_ADD);
        }
    }
    script.op(OP_NIP)
}

/// The number of items [`push_u4_tables`] pushes.
pub const U4_TABLE_ITEMS: usize = 256 + 16;

/// Pushes the nibble tables: `[] -> [X_255 .. X_0, S_15 .. S_0]` where
/// `X_{16x + y} = x XOR y` and `S_x = 16x` (`S_0` on top). 272 items, 294 bytes.
pub fn push_u4_tables() -> Script {
    let mut script = Script::new();
    for k in (0..256i64).rev() {
        script = script.num((k >> 4) ^ (k & 15));
    }
    for x in (0..16i64).rev() {
        script = script.num(16 * x);
    }
    script
}

/// Drops the nibble tables when they are on top: `[tables] -> []`. 136 bytes.
pub fn drop_u4_tables() -> Script {
    drop_items(U4_TABLE_ITEMS)
}

/// Addition of u32 words mod 2^32: `[a_7 .. a_0, b_7 .. b_0] -> [s_7 .. s_0]`.
///
/// Nibble by nibble from the least significant with a comparison-based carry; the
/// sum nibbles go through the altstack. Assumes nibbles in `[0, 16)` (not verified).
pub fn u32_add() -> Script {
    let mut script = Script::new();
    for i in 0..8usize {
        // [a_7 .. a_i, b_7 .. b_i, (carry)]
        let carry = usize::from(i > 0);
        script = script.then(roll(8 - i + carry));
        if carry == 1 {
            script = script.op(OP_ADD);
        }
        // b_i is now right below.
        script = script.op(OP_ADD);
        script = if i < 7 {
            script
                .op(OP_DUP)
                .num(16)
                .op(OP_GREATERTHANOREQUAL)
                .op(OP_TUCK)
                .op(OP_IF)
                .num(16)
                .op(OP_SUB)
                .op(OP_ENDIF)
                .op(OP_TOALTSTACK)
        } else {
            script
                .op(OP_DUP)
                .num(16)
                .op(OP_GREATERTHANOREQUAL)
                .op(OP_IF)
                .num(16)
                .op(OP_SUB)
                .op(OP_ENDIF)
                .op(OP_TOALTSTACK)
        };
    }
    script.ops(OP_FROMALTSTACK, 8)
}

/// XOR of u32 words with the nibble tables:
/// `[tables, (e items), a_7 .. a_0, b_7 .. b_0] -> [tables, (e items), c_7 .. c_0]`
/// where `tables` is [`push_u4_tables`] and `e` any number of items in between.
///
/// Per nibble: `S` gives `16·a_i`, then `X` gives `a_i XOR b_i`. Assumes nibbles in
/// `[0, 16)` (a larger value picks a wrong item).
pub fn u32_xor(e: usize) -> Script {
    let mut script = Script::new();
    for i in 0..8usize {
        // [.., a_7 .. a_i, b_7 .. b_i]
        script = script
            .then(roll(8 - i))
            .num((e + 15 - 2 * i) as i64)
            .op(OP_ADD)
            .op(OP_PICK)
            .op(OP_ADD)
            .num((e + 14 - 2 * i + 16) as i64)
            .op(OP_ADD)
            .op(OP_PICK)
            .op(OP_TOALTSTACK);
    }
    script.ops(OP_FROMALTSTACK, 8)
}

/// Splits a nibble at bit `s` (`1 ≤ s ≤ 3`): `[x] -> [x >> s, (x mod 2^s) << (4-s)]`.
fn split_nibble(s: u32) -> Script {
    // x >> s has 4 - s bits, extracted from the top.
    let mut script = Script::new();
    for (n, p) in (s..4).rev().enumerate() {
        let t = pow2(p);
        let v = pow2(p - s);
        script = if n == 0 { script.then(first_step(t, v)) } else { script.then(accumulate_step(t, v)) };
    }
    script.repeat(&Script::new().op(OP_DUP).op(OP_ADD), (4 - s) as usize)
}

/// Right rotation of a u32 word by `r` bits: `[n_7 .. n_0] -> [m_7 .. m_0]` with
/// `m = rotr(n, r)`.
///
/// Rotations by multiples of 4 only move nibbles (`OP_ROLL`s); others split every
/// nibble at bit `r mod 4` and recombine neighbours. Assumes nibbles in `[0, 16)`.
pub fn u32_rotr(r: u32) -> Script {
    let r = r % 32;
    let q = (r / 4) as usize;
    let s = r % 4;
    if s == 0 {
        // Move the deeper 8 - q nibbles above the top q ones.
        return Script::new().repeat(&roll(7), if q == 0 { 0 } else { 8 - q });
    }
    // Split each nibble (n_0 first) into (hi_k, lo_k) and park both on the altstack.
    let mut script = Script::new();
    for _ in 0..8 {
        script = script.then(split_nibble(s)).op(OP_TOALTSTACK).op(OP_TOALTSTACK);
    }
    // Altstack holds (bottom..top) lo_0 hi_0 lo_1 hi_1 .. lo_7 hi_7; reading back gives
    // [hi_7 lo_7 hi_6 lo_6 .. hi_0 lo_0] on the stack (lo_0 on top).
    script = script.ops(OP_FROMALTSTACK, 16);
    // Model the stack to compute roll depths: items as (kind, index), kind 0 = hi.
    let mut stack: Vec<(u8, usize)> = Vec::with_capacity(16);
    for k in (0..8).rev() {
        stack.push((0, k));
        stack.push((1, k));
    }
    // m_j = hi_{j+q} + lo_{j+q+1}; build m_7 first (deepest) .. m_0 on top, on the
    // altstack in reverse so the results come back in order.
    for j in 0..8usize {
        let hi = (0u8, (j + q) % 8);
        let lo = (1u8, (j + q + 1) % 8);
        for item in [hi, lo] {
            let Some(pos) = stack.iter().position(|x| *x == item) else { continue };
            script = script.then(roll(stack.len() - 1 - pos));
            let moved = stack.remove(pos);
            stack.push(moved);
        }
        stack.truncate(stack.len().saturating_sub(2));
        script = script.op(OP_ADD).op(OP_TOALTSTACK);
    }
    script.ops(OP_FROMALTSTACK, 8)
}

/// Converts two 16-bit halves to a u32 word: `[hi, lo] -> [n_7 .. n_0]`.
/// **Verifies** `0 ≤ hi, lo < 2^16`.
pub fn u32_from_u16_pair() -> Script {
    Script::new().op(OP_SWAP).then(to_nibbles(16)).then(roll(4)).then(to_nibbles(16))
}

/// Converts a u32 word to two 16-bit halves: `[n_7 .. n_0] -> [hi, lo]`.
/// Assumes nibbles in `[0, 16)`.
pub fn u32_to_u16_pair() -> Script {
    from_nibbles(16).op(OP_TOALTSTACK).then(from_nibbles(16)).op(OP_FROMALTSTACK)
}

//! Multi-limb unsigned integers in tapscript: `n` limbs of `b` bits.
//!
//! A number is `n` stack items, **least significant limb deepest**, most significant
//! on top: `[.., x_0, x_1, .., x_{n-1}]`. A limb is *normalised* when it lies in
//! `[0, 2^b)`; a number is *canonical* for a modulus `m` when all its limbs are
//! normalised and its value is below `m`. Witness elements and pushes follow the same
//! order (limb 0 first).
//!
//! Script numbers are at most 31 bits, so `b ≤ 29` leaves room for a sum of two
//! limbs plus a carry; the field arithmetic of [`super::fq`] uses 16 limbs of 24 bits
//! (see there for why).
//!
//! Besides the plain gadgets (push, copy, add/sub with carries, compare, range checks,
//! modular add/sub/negate), [`MulMod`] checks a hinted modular product
//! `a·b = q·m + r` without `OP_MUL` (see its documentation for the method).

use bitcoin::opcodes::all::{
    OP_2DUP, OP_ADD, OP_BOOLAND, OP_BOOLOR, OP_DROP, OP_DUP, OP_ELSE, OP_ENDIF, OP_FROMALTSTACK,
    OP_GREATERTHANOREQUAL, OP_IF, OP_LESSTHAN, OP_NEGATE, OP_NOT, OP_NOTIF, OP_NUMEQUAL, OP_NUMEQUALVERIFY,
    OP_PICK, OP_SUB, OP_SWAP, OP_TOALTSTACK, OP_TUCK, OP_VERIFY,
};
use num_bigint::{BigInt, BigUint};
use num_traits::{ToPrimitive, Zero};

use super::limbs::{drop_items, pick, roll};
use super::{encode_num, Script};

/// Why a multi-limb layout or value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BigIntError {
    /// The limb width or count cannot work in script arithmetic.
    #[error("unsupported layout: {limbs} limbs of {bits} bits ({reason})")]
    Layout {
        /// Limb count.
        limbs: usize,
        /// Bits per limb.
        bits: u32,
        /// What is wrong.
        reason: &'static str,
    },
    /// A value does not fit the layout.
    #[error("value of {bits} bits does not fit {capacity} bits")]
    TooWide {
        /// Bits of the value.
        bits: u64,
        /// Bits the layout holds.
        capacity: u64,
    },
    /// A decoded limb list has the wrong length or a limb is not a script number.
    #[error("malformed limbs: {0}")]
    Malformed(String),
}

/// A layout of unsigned integers as `limbs` limbs of `bits` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limbs {
    limbs: usize,
    bits: u32,
}

impl Limbs {
    /// A layout of `limbs` limbs of `bits` bits; `None` unless `bits` is in `1..=29`
    /// (a sum of two limbs and a carry stays a 4-byte script number) and `limbs` in
    /// `1..=64`.
    pub const fn new(limbs: usize, bits: u32) -> Option<Self> {
        if bits == 0 || bits > 29 || limbs == 0 || limbs > 64 {
            return None;
        }
        Some(Self { limbs, bits })
    }

    /// The number of limbs.
    pub const fn limbs(&self) -> usize {
        self.limbs
    }

    /// Bits per limb.
    pub const fn bits(&self) -> u32 {
        self.bits
    }

    /// `2^bits`, the limb base.
    pub const fn base(&self) -> i64 {
        1 << self.bits
    }

    /// The total capacity in bits.
    pub const fn capacity(&self) -> u64 {
        self.limbs as u64 * self.bits as u64
    }

    /// The normalised limbs of `value` (limb 0 first).
    pub fn to_limbs(&self, value: &BigUint) -> Result<Vec<i64>, BigIntError> {
        if value.bits() > self.capacity() {
            return Err(BigIntError::TooWide { bits: value.bits(), capacity: self.capacity() });
        }
        let mask = BigUint::from((1u64 << self.bits) - 1);
        Ok((0..self.limbs)
            .map(|i| {
                let limb = (value >> (i * self.bits as usize)) & &mask;
                // Below 2^29 by construction.
                limb.to_i64().unwrap_or_default()
            })
            .collect())
    }

    /// The value of limbs (limb 0 first), normalised or not, as a signed integer.
    pub fn value_of(&self, limbs: &[i64]) -> BigInt {
        limbs.iter().rev().fold(BigInt::zero(), |acc, limb| (acc << self.bits) + BigInt::from(*limb))
    }

    /// Decodes stack or witness elements (limb 0 first) into a value, reading each as
    /// script arithmetic does ([`read_operand`](super::read_operand): at most 4
    /// bytes, any encoding), so a watcher reads what a script accepted; the value
    /// must be non-negative.
    pub fn from_elements(&self, elements: &[Vec<u8>]) -> Result<BigUint, BigIntError> {
        if elements.len() != self.limbs {
            return Err(BigIntError::Malformed(format!(
                "{} elements for {} limbs",
                elements.len(),
                self.limbs
            )));
        }
        let limbs = elements
            .iter()
            .map(|element| {
                super::read_operand(element)
                    .ok_or_else(|| BigIntError::Malformed(format!("not a script operand: {element:02x?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let value = self.value_of(&limbs);
        value.to_biguint().ok_or_else(|| BigIntError::Malformed(format!("negative value {value}")))
    }

    /// The witness elements of `value` (limb 0 first).
    pub fn witness(&self, value: &BigUint) -> Result<Vec<Vec<u8>>, BigIntError> {
        Ok(self.to_limbs(value)?.into_iter().map(encode_num).collect())
    }

    /// Pushes the constant `value`. `[..] -> [.., value]`
    pub fn push(&self, value: &BigUint) -> Result<Script, BigIntError> {
        Ok(self.to_limbs(value)?.into_iter().map(|limb| Script::new().num(limb)).collect())
    }

    /// Copies number `index` (0 = the top number) to the top.
    /// `[.., x, (index numbers)] -> [.., x, (index numbers), x]`
    pub fn pick(&self, index: usize) -> Script {
        let depth = (index + 1) * self.limbs - 1;
        Script::new().for_each(self.limbs, |_| pick(depth))
    }

    /// Moves number `index` (0 = the top number) to the top.
    /// `[.., x, (index numbers)] -> [.., (index numbers), x]`
    pub fn roll(&self, index: usize) -> Script {
        let depth = (index + 1) * self.limbs - 1;
        Script::new().for_each(self.limbs, |_| roll(depth))
    }

    /// Drops the top number. `[.., x] -> [..]`
    pub fn drop(&self) -> Script {
        drop_items(self.limbs)
    }

    /// Moves the top number to the altstack (limb `n-1` first).
    /// `[.., x] -> [..]`, altstack `[.., x_{n-1}, .., x_0]`
    pub fn toaltstack(&self) -> Script {
        Script::new().ops(OP_TOALTSTACK, self.limbs)
    }

    /// Moves a number back from the altstack (inverse of [`Limbs::toaltstack`]).
    pub fn fromaltstack(&self) -> Script {
        Script::new().ops(OP_FROMALTSTACK, self.limbs)
    }

    /// Verifies every limb of the top number lies in `[0, 2^b)`. `[.., x] -> [.., x]`
    pub fn verify_limbs(&self) -> Script {
        let n = self.limbs;
        Script::new().for_each(n, |k| pick(n - 1 - k).then(self.verify_limb_range()))
    }

    /// `[.., l] -> [..]`: verifies `0 ≤ l < 2^b`.
    fn verify_limb_range(&self) -> Script {
        super::limbs::range_check(self.bits)
    }

    /// Verifies the top number is canonical for `modulus`: every limb in `[0, 2^b)`
    /// and the value below `modulus`. `[.., x] -> [.., x]`
    pub fn verify_canonical(&self, modulus: &BigUint) -> Result<Script, BigIntError> {
        let m = self.to_limbs(modulus)?;
        let n = self.limbs;
        // Borrow chain of x - m on copies: borrow_k = (x_k - m_k - borrow_{k-1} < 0).
        let mut script = Script::new();
        for (k, m_k) in m.iter().enumerate() {
            let depth = n - 1 - k + usize::from(k > 0);
            script = script.then(pick(depth)).op(OP_DUP).then(self.verify_limb_range());
            if k > 0 {
                script = script.op(OP_SWAP).op(OP_SUB);
            }
            script = script.then(sub_const(*m_k)).num(0).op(OP_LESSTHAN);
        }
        Ok(script.op(OP_VERIFY))
    }

    /// Adds two numbers with normalised limbs; limbs `0..n-1` of the sum are
    /// normalised, the top limb keeps its carry (`< 2^(b+1)`).
    /// `[.., a, b] -> [.., a + b]`
    pub fn add(&self) -> Script {
        let n = self.limbs;
        let mut script = Script::new();
        for k in 0..n {
            let carry = usize::from(k > 0);
            // Above a_k: a_{k+1..}, b_k.., lows, carry.
            script = script.then(roll(2 * n - 1 - k + carry)).then(roll(n + carry)).op(OP_ADD);
            if k > 0 {
                script = script.op(OP_ADD);
            }
            if k + 1 < n {
                script = script.then(self.carry_up());
            }
        }
        script
    }

    /// `[.., s] -> [.., s mod 2^b, s ≥ 2^b]` for `0 ≤ s < 2^(b+1)`.
    fn carry_up(&self) -> Script {
        Script::new()
            .op(OP_DUP)
            .num(self.base())
            .op(OP_GREATERTHANOREQUAL)
            .op(OP_TUCK)
            .op(OP_IF)
            .then(sub_const(self.base()))
            .op(OP_ENDIF)
            .op(OP_SWAP)
    }

    /// `[.., d] -> [.., d mod 2^b, d ≥ 0]` for `-2^b ≤ d < 2^b`: the flag is 1 when
    /// no borrow is taken.
    fn borrow_down(&self) -> Script {
        Script::new()
            .op(OP_DUP)
            .num(0)
            .op(OP_GREATERTHANOREQUAL)
            .op(OP_TUCK)
            .op(OP_NOTIF)
            .num(self.base())
            .op(OP_ADD)
            .op(OP_ENDIF)
            .op(OP_SWAP)
    }

    /// Subtracts with borrow: `[.., a, b] -> [.., (a - b) mod 2^(nb), a ≥ b]`, all
    /// limbs of the difference normalised; inputs must have normalised limbs.
    pub fn sub(&self) -> Script {
        let n = self.limbs;
        let mut script = Script::new();
        for k in 0..n {
            let flag = usize::from(k > 0);
            script = script.then(roll(2 * n - 1 - k + flag)).then(roll(n + flag)).op(OP_SUB);
            if k > 0 {
                // d + flag - 1: flag is 1 when the previous limb did not borrow.
                script = script.op(OP_ADD).then(add_const(-1));
            }
            script = script.then(self.borrow_down());
        }
        script
    }

    /// Compares: `[.., a, b] -> [.., a < b]` (inputs with normalised limbs).
    pub fn lt(&self) -> Script {
        let n = self.limbs;
        let mut script = Script::new();
        for k in 0..n {
            let flag = usize::from(k > 0);
            // borrow_k = (a_k - b_k - borrow_{k-1} < 0)
            script = script.then(roll(2 * n - 1 - 2 * k + flag)).then(roll(n - k + flag)).op(OP_SUB);
            if k > 0 {
                script = script.op(OP_SWAP).op(OP_SUB);
            }
            script = script.num(0).op(OP_LESSTHAN);
        }
        script
    }

    /// Compares limb by limb as numbers: `[.., a, b] -> [.., a == b]` (equal limbs;
    /// for normalised inputs, equal values).
    ///
    /// Numeric equality (`OP_NUMEQUAL`), never byte equality: a witness may encode a
    /// limb non-minimally (`[5, 0]` for 5, consensus-valid in tapscript), and a byte
    /// comparison would call two equal values different, which a disprove leaf
    /// (succeeding on a mismatch) must never do. A limb wider than 4 bytes fails.
    pub fn equal(&self) -> Script {
        let n = self.limbs;
        let mut script = roll(n).op(OP_NUMEQUAL);
        for i in 1..n {
            // Above a_{n-1-i}: b_{n-1-i}, the flag, b_0..b_{n-2-i}.
            script = script.op(OP_SWAP).then(roll(n + 1 - i)).op(OP_NUMEQUAL).op(OP_BOOLAND);
        }
        script
    }

    /// `[.., a, b] -> [..]`, failing unless every limb of `a` equals that of `b` as a
    /// number (see [`Limbs::equal`]).
    pub fn equalverify(&self) -> Script {
        let n = self.limbs;
        Script::new().for_each(n, |k| roll(n - k).op(OP_NUMEQUALVERIFY))
    }

    /// `[.., a] -> [.., a == 0]` (every limb zero).
    pub fn is_zero(&self) -> Script {
        Script::new().ops(OP_BOOLOR, self.limbs - 1).op(OP_NOT)
    }

    /// Modular addition: `[.., a, b] -> [.., (a + b) mod m]` for canonical `a`, `b`
    /// (assumed, not checked); the result is canonical. Needs `2m < 2^(nb)`.
    pub fn add_mod(&self, modulus: &BigUint) -> Result<Script, BigIntError> {
        self.check_double_fits(modulus)?;
        Ok(self.add().then(self.reduce_once(modulus)?))
    }

    /// Doubling: `[.., a] -> [.., 2a mod m]` for canonical `a` (assumed).
    pub fn double_mod(&self, modulus: &BigUint) -> Result<Script, BigIntError> {
        Ok(self.pick(0).then(self.add_mod(modulus)?))
    }

    /// Modular subtraction: `[.., a, b] -> [.., (a - b) mod m]` for canonical `a`,
    /// `b` (assumed); the result is canonical.
    pub fn sub_mod(&self, modulus: &BigUint) -> Result<Script, BigIntError> {
        let m = self.to_limbs(modulus)?;
        let n = self.limbs;
        // a - b (normalised limbs, flag a ≥ b); when a < b add m back (mod 2^(nb)).
        let mut add_m = Script::new();
        for (k, m_k) in m.iter().enumerate() {
            let carry = usize::from(k > 0);
            add_m = add_m.then(roll(n - 1 + carry)).then(add_const(*m_k));
            if k > 0 {
                add_m = add_m.op(OP_ADD);
            }
            add_m = add_m.then(if k + 1 < n { self.carry_up() } else { self.wrap_top() });
        }
        Ok(self.sub().op(OP_NOTIF).then(add_m).op(OP_ENDIF))
    }

    /// `[.., s] -> [.., s mod 2^b]` for `0 ≤ s < 2^(b+1)` (drops the carry out).
    fn wrap_top(&self) -> Script {
        self.carry_up().op(OP_DROP)
    }

    /// Modular negation: `[.., a] -> [.., (-a) mod m]` for canonical `a` (assumed).
    pub fn neg_mod(&self, modulus: &BigUint) -> Result<Script, BigIntError> {
        let m = self.to_limbs(modulus)?;
        let n = self.limbs;
        // Non-zero flag to the altstack, then m - a limb by limb.
        let mut script = pick(n - 1).for_each(n - 1, |k| pick(n - 1 - k).op(OP_BOOLOR)).op(OP_TOALTSTACK);
        for (k, m_k) in m.iter().enumerate() {
            let flag = usize::from(k > 0);
            script = script.num(*m_k).then(roll(n + flag)).op(OP_SUB);
            if k > 0 {
                script = script.op(OP_ADD).then(add_const(-1));
            }
            script = script.then(self.borrow_down());
        }
        // The final flag is 1 (m ≥ a); a zero input gives m, replaced by 0.
        Ok(script
            .op(OP_DROP)
            .op(OP_FROMALTSTACK)
            .op(OP_NOTIF)
            .then(drop_items(n))
            .for_each(n, |_| Script::new().num(0))
            .op(OP_ENDIF))
    }

    fn check_double_fits(&self, modulus: &BigUint) -> Result<(), BigIntError> {
        let double: BigUint = modulus << 1usize;
        if double.bits() > self.capacity() {
            return Err(BigIntError::TooWide { bits: double.bits(), capacity: self.capacity() });
        }
        Ok(())
    }

    /// `[.., s] -> [.., s mod m]` for normalised `s < 2m`: subtracts `m` when `s ≥ m`.
    fn reduce_once(&self, modulus: &BigUint) -> Result<Script, BigIntError> {
        let m = self.to_limbs(modulus)?;
        let n = self.limbs;
        let mut script = Script::new();
        // t = s - m on copies, keeping s below.
        for (k, m_k) in m.iter().enumerate() {
            let flag = usize::from(k > 0);
            // Above s_k: s_{k+1..} (n-1-k), t lows (k), flag.
            script = script.then(pick(n - 1 + flag)).then(sub_const(*m_k));
            if k > 0 {
                script = script.op(OP_ADD).then(add_const(-1));
            }
            script = script.then(self.borrow_down());
        }
        // Flag 1: s ≥ m, keep t (drop s beneath it); else drop t.
        Ok(script.op(OP_IF).for_each(n, |_| roll(n).op(OP_DROP)).op(OP_ELSE).then(drop_items(n)).op(OP_ENDIF))
    }
}

/// `[.., x] -> [.., x + c]`
fn add_const(c: i64) -> Script {
    match c {
        0 => Script::new(),
        1 => Script::new().op(bitcoin::opcodes::all::OP_1ADD),
        -1 => Script::new().op(bitcoin::opcodes::all::OP_1SUB),
        _ if c < 0 => Script::new().num(-c).op(OP_SUB),
        _ => Script::new().num(c).op(OP_ADD),
    }
}

/// `[.., x] -> [.., x - c]`
fn sub_const(c: i64) -> Script {
    add_const(-c)
}

/// `[.., x] -> [.., k·x]` by doubling and adding (no `OP_MUL`).
pub(crate) fn times_const(k: i64) -> Script {
    // |k| is a small table or limb constant here; a larger one cannot be a valid
    // multiplier of a script number anyway.
    let magnitude = u32::try_from(k.unsigned_abs()).unwrap_or(u32::MAX);
    let script = if k < 0 { Script::new().op(OP_NEGATE) } else { Script::new() };
    script.then(super::limbs::mul_const(magnitude))
}

/// Window width of [`MulMod`]: digits of 4 bits, tables of 16 multiples.
pub const WINDOW_BITS: u32 = 4;

/// A hinted modular multiplication `a·b mod m` for a constant modulus `m`.
///
/// The witness supplies the remainder `r` and the quotient `q`; the script checks
/// `r` canonical and then the integer identity `a·b − q·m = r`, so `r = a·b mod m`
/// is the only remainder that passes. The identity is evaluated exactly, without
/// `OP_MUL`, by windowed accumulation:
///
/// - `b` is split into 4-bit digits in script (each limb range-checked first, so the
///   digits recompose `b` exactly);
/// - tables `A[d] = d·a` (`d < 16`) and `Q[f] = f·q` (`0 < f < 16`) are built on the
///   stack with normalised additions;
/// - with `b = Σ_L Σ_s d_{L,s} 2^(bL + 4s)` and the constant digits `f_{L,s}` of `m`,
///   the accumulator `T` (2n limbs) runs Horner over the `b/4` digit positions `s`
///   inside a limb: `T ← 16·T + Σ_L (A[d_{L,s}] − Q[f_{L,s}])·2^(bL)`. Shifting by a
///   whole limb is free, so each phase only multiplies `T`'s limbs by 16, adds table
///   limbs picked by (runtime) digit index and subtracts table limbs picked at
///   (constant) positions, then renormalises `T` with a biased carry chain whose
///   carries are computed in script (compare and subtract, 6 bits a limb);
/// - finally `T` is compared limb by limb with `r` (its upper half with zero).
///
/// Every script operation is exact or fails (a 5-byte result cannot be an operand), so
/// limb-wise equality of `T` and `r` proves the identity whatever the hints; the
/// bounds below only make the honest hints work. `q` needs no range check: any
/// integer `q` that passes satisfies the identity, which with `0 ≤ r < m` fixes it.
///
/// Bounds (checked at construction): table limbs stay below `2^b` except the top limb
/// (`16·m` may exceed `nb` bits); a phase adds at most `n` table limbs of each sign to
/// a limb `< 2^(b+4)`; the chain adds a bias of `β·2^b` so that the value to split is
/// in `[0, 2^(b+6))` and the carry-out is in `[−β, 64 − β)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MulMod {
    layout: Limbs,
    modulus: BigUint,
    bias: i64,
}

/// The labels of the mul gadget's stack model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    R(usize),
    Q(usize),
    A(usize),
    B(usize),
    Digit(usize, usize),
    ATable(usize, usize),
    QTable(usize, usize),
    T(usize),
    Tmp,
}

/// A stack model: slot labels bottom first, and the script built so far.
struct Model {
    slots: Vec<Slot>,
    script: Script,
    peak: usize,
}

impl Model {
    fn depth(&self, slot: Slot) -> Result<usize, BigIntError> {
        self.slots
            .iter()
            .rev()
            .position(|s| *s == slot)
            .ok_or_else(|| BigIntError::Malformed(format!("internal: no slot {slot:?}")))
    }

    fn emit(&mut self, script: Script, pops: usize, pushes: usize) {
        self.script = std::mem::take(&mut self.script).then(script);
        let keep = self.slots.len().saturating_sub(pops);
        self.slots.truncate(keep);
        self.slots.extend(std::iter::repeat_n(Slot::Tmp, pushes));
        // Intermediate items of a fragment stay within a few of its result.
        self.peak = self.peak.max(self.slots.len() + pops.max(pushes) + 2);
    }

    fn pick(&mut self, slot: Slot) -> Result<(), BigIntError> {
        let depth = self.depth(slot)?;
        self.emit(pick(depth), 0, 1);
        Ok(())
    }

    fn roll(&mut self, slot: Slot) -> Result<(), BigIntError> {
        let depth = self.depth(slot)?;
        self.script = std::mem::take(&mut self.script).then(roll(depth));
        let index = self.slots.len() - 1 - depth;
        let moved = self.slots.remove(index);
        self.slots.push(moved);
        Ok(())
    }

    /// Names the item `depth` from the top.
    fn label(&mut self, depth: usize, slot: Slot) {
        let len = self.slots.len();
        if let Some(s) = len.checked_sub(depth + 1).and_then(|i| self.slots.get_mut(i)) {
            *s = slot;
        }
    }
}

impl MulMod {
    /// The gadget for `layout` and `modulus`; fails when the bounds above do not hold
    /// (limb width not a multiple of 4, modulus too wide, or no room for the carries).
    pub fn new(layout: Limbs, modulus: BigUint) -> Result<Self, BigIntError> {
        let refuse = |reason| BigIntError::Layout { limbs: layout.limbs, bits: layout.bits, reason };
        if layout.bits % WINDOW_BITS != 0 || layout.bits < 8 {
            return Err(refuse("limb width must be a multiple of 4, at least 8"));
        }
        if modulus.bits() > layout.capacity() || modulus.is_zero() {
            return Err(refuse("modulus does not fit the layout"));
        }
        let n = layout.limbs as u64;
        let base = layout.base();
        // Largest top limb of a table entry: 15·m (and 15·q with q < m).
        let top_shift = (layout.limbs - 1) * layout.bits as usize;
        let top: BigUint = (&modulus * 16u32) >> top_shift;
        let top = top.to_i64().ok_or_else(|| refuse("modulus too wide"))? + 1;
        // Sum of at most n table limbs in one column.
        let column = (n as i64 - 1) * (base - 1) + top.max(base - 1);
        let bias_units = (column + 64 + base - 1) / base;
        let bias = bias_units * base;
        let y_max = 16 * (base - 1) + 64 + column + bias;
        if y_max >= 64 * base || y_max > (1 << 31) - 1 || bias_units >= 64 {
            return Err(refuse("no room for the carries of the accumulator"));
        }
        Ok(Self { layout, modulus, bias })
    }

    /// The layout.
    pub fn layout(&self) -> Limbs {
        self.layout
    }

    /// The native hints for `a·b`: `(q, r)` with `a·b = q·m + r`, `r < m`.
    pub fn hint(&self, a: &BigUint, b: &BigUint) -> (BigUint, BigUint) {
        let product = a * b;
        (&product / &self.modulus, &product % &self.modulus)
    }

    /// The witness elements of the hints for `a·b`, in gadget order: `r` then `q`.
    pub fn hint_witness(&self, a: &BigUint, b: &BigUint) -> Result<Vec<Vec<u8>>, BigIntError> {
        let (q, r) = self.hint(a, b);
        let mut elements = self.layout.witness(&r)?;
        elements.extend(self.layout.witness(&q)?);
        Ok(elements)
    }

    /// An upper bound on the stack items the gadget holds at once, counting its own
    /// `4n` inputs (and not what lies below them).
    pub fn peak_items(&self) -> Result<usize, BigIntError> {
        Ok(self.build()?.peak)
    }

    /// The gadget: `[.., r, q, a, b] -> [.., r]`, failing unless `r` is canonical and
    /// `a·b = q·m + r`. Assumes nothing about `a` and `q` beyond honest-completeness
    /// (`a` canonical, `q < m`); checks `b`'s limbs are normalised and `r` canonical.
    /// So for limb-normalised `a`, `b` the result is `a·b mod m`.
    pub fn script(&self) -> Result<Script, BigIntError> {
        Ok(self.build()?.script)
    }

    fn build(&self) -> Result<Model, BigIntError> {
        let n = self.layout.limbs;
        let bits = self.layout.bits;
        let base = self.layout.base();
        let phases = (bits / WINDOW_BITS) as usize;
        let width = 2 * n;
        let m_limbs = self.layout.to_limbs(&self.modulus)?;
        let mut model = Model { slots: Vec::new(), script: Script::new(), peak: 0 };
        for (make, _) in [(Slot::R as fn(usize) -> Slot, ()), (Slot::Q, ()), (Slot::A, ()), (Slot::B, ())] {
            model.slots.extend((0..n).map(make));
        }

        // 1. r canonical (on a copy).
        for k in 0..n {
            model.pick(Slot::R(k))?;
        }
        model.emit(self.layout.verify_canonical(&self.modulus)?.then(drop_items(n)), n, 0);

        // 2. Digits of b, as negative table offsets D = -d·n.
        let n_i64 = n as i64;
        for l in 0..n {
            model.roll(Slot::B(l))?;
            model.emit(Script::new().op(OP_DUP).then(self.layout.verify_limb_range()), 1, 1);
            for s in (1..phases).rev() {
                let mut digit = Script::new().num(0).op(OP_SWAP);
                for t in (0..WINDOW_BITS).rev() {
                    let weight = 1i64 << (WINDOW_BITS * s as u32 + t);
                    digit = digit.then(Self::take_bit(weight, -(n_i64 << t)));
                }
                model.emit(digit, 1, 2);
                model.label(1, Slot::Digit(l, s));
            }
            model.emit(times_const(-n_i64), 1, 1);
            model.label(0, Slot::Digit(l, 0));
        }

        // 3. A table: A[0] = 0, A[1] = a, A[d] = A[d-1] + a.
        for j in 0..n {
            model.emit(Script::new().num(0), 0, 1);
            model.label(0, Slot::ATable(0, j));
        }
        for j in 0..n {
            model.roll(Slot::A(j))?;
            model.label(0, Slot::ATable(1, j));
        }
        for d in 2..16 {
            self.table_entry(&mut model, |j| Slot::ATable(d - 1, j), Slot::ATable(1, 0), Slot::ATable, d)?;
        }
        // 4. Q table: Q[1] = q in place, Q[f] = Q[f-1] + q.
        for j in 0..n {
            model.label(model.depth(Slot::Q(j))?, Slot::QTable(1, j));
        }
        for f in 2..16 {
            self.table_entry(&mut model, |j| Slot::QTable(f - 1, j), Slot::QTable(1, 0), Slot::QTable, f)?;
        }

        // 5. Horner over the digit positions, most significant first.
        let p_digit = |l: usize, s: usize| -> i64 { (m_limbs[l] >> (WINDOW_BITS as usize * s)) & 15 };
        let bias_units = self.bias / base;
        for s in (0..phases).rev() {
            let first = s + 1 == phases;
            for k in 0..width {
                // y = 16·T_k + carry-in (+ bias), carry-in = c' - bias_units.
                if first {
                    model.emit(Script::new().num(0), 0, 1);
                } else {
                    model.roll(Slot::T(k))?;
                    model.emit(times_const(16), 1, 1);
                }
                if k > 0 {
                    model.emit(Script::new().op(OP_ADD), 2, 1);
                }
                for l in k.saturating_sub(n - 1)..=k.min(n - 1) {
                    let j = k - l;
                    // A[d]_j with d at runtime: depth = C + D where D = -d·n.
                    let c = model.depth(Slot::ATable(0, j))?;
                    model.pick(Slot::Digit(l, s))?;
                    model.emit(add_const(c as i64).op(OP_PICK).op(OP_ADD), 2, 1);
                    let f = p_digit(l, s);
                    if f != 0 {
                        model.pick(Slot::QTable(f as usize, j))?;
                        model.emit(Script::new().op(OP_SUB), 2, 1);
                    }
                }
                if k + 1 < width {
                    let offset = if k == 0 { self.bias } else { self.bias - bias_units };
                    model.emit(add_const(offset).then(Self::split(bits)), 1, 2);
                    model.label(1, Slot::T(k));
                } else {
                    model.emit(add_const(-bias_units), 1, 1);
                    model.label(0, Slot::T(k));
                }
            }
        }

        // 6. T == r: upper half zero, lower half equal to r limb by limb.
        for _ in n..width {
            model.emit(Script::new().op(OP_NOT).op(OP_VERIFY), 1, 0);
        }
        for k in (0..n).rev() {
            model.pick(Slot::R(k))?;
            // Numeric, not byte, equality: r's limbs come from the witness, where a
            // non-minimal encoding of the right value is consensus-valid.
            model.emit(Script::new().op(OP_NUMEQUALVERIFY), 2, 0);
        }
        // Drop the tables and digits: everything above r.
        let above = model.slots.len() - n;
        model.emit(drop_items(above), above, 0);
        Ok(model)
    }

    /// Appends table entry `index` = previous + entry 1 (normalised limbs, unreduced
    /// top limb). `previous(j)` labels the previous entry's limb j.
    fn table_entry(
        &self,
        model: &mut Model,
        previous: impl Fn(usize) -> Slot,
        one: Slot,
        make: fn(usize, usize) -> Slot,
        index: usize,
    ) -> Result<(), BigIntError> {
        let n = self.layout.limbs;
        let one_of = |j: usize| match one {
            Slot::ATable(_, _) => Slot::ATable(1, j),
            _ => Slot::QTable(1, j),
        };
        for j in 0..n {
            model.pick(previous(j))?;
            model.pick(one_of(j))?;
            model.emit(Script::new().op(OP_ADD), 2, 1);
            if j > 0 {
                model.emit(Script::new().op(OP_ADD), 2, 1);
            }
            if j + 1 < n {
                model.emit(self.layout.carry_up(), 1, 2);
                model.label(1, make(index, j));
            } else {
                model.label(0, make(index, j));
            }
        }
        Ok(())
    }

    /// `[.., y] -> [.., y mod 2^b, y div 2^b]` for `0 ≤ y < 2^(b+6)`.
    fn split(bits: u32) -> Script {
        let mut script = Script::new().num(0).op(OP_SWAP);
        for t in (0..6u32).rev() {
            let weight = 1i64 << (bits + t);
            script = script.then(Self::take_bit(weight, 1 << t));
        }
        script.op(OP_SWAP)
    }

    /// `[.., acc, y] -> [.., acc + step, y − weight]` when `y ≥ weight`, else unchanged.
    fn take_bit(weight: i64, step: i64) -> Script {
        Script::new()
            .num(weight)
            .op(OP_2DUP)
            .op(OP_GREATERTHANOREQUAL)
            .op(OP_IF)
            .op(OP_SUB)
            .op(OP_SWAP)
            .then(add_const(step))
            .op(OP_SWAP)
            .op(OP_ELSE)
            .op(OP_DROP)
            .op(OP_ENDIF)
    }
}

//! The arithmetic, constant, public-input, bit-decomposition, exponentiation,
//! random-access and reducing gates.

use plonky2::field::types::Field;
use plonky2::gates::arithmetic_base::ArithmeticGate;
use plonky2::gates::arithmetic_extension::ArithmeticExtensionGate;
use plonky2::gates::multiplication_extension::MulExtensionGate;
use plonky2::gates::random_access::RandomAccessGate;

use super::{alg_add, alg_mul, alg_scalar_mul, alg_sub, mul_opt, scale_base, Alg, EvalError, GateVars, D};
use crate::algebra::{Algebra, Gl, GlExt};

/// `ArithmeticGate`: `output_i = c0 · m0_i · m1_i + c1 · addend_i`, on wires
/// `4i .. 4i + 4`.
pub(super) fn arithmetic_base<A: Algebra>(
    alg: &mut A,
    gate: &ArithmeticGate,
    vars: GateVars<'_, A>,
) -> Result<Vec<A::Ext>, EvalError> {
    vars.require_wires(gate.num_ops.checked_mul(4))?;
    let c0 = vars.constant(0)?;
    let c1 = vars.constant(1)?;
    let mut constraints = Vec::with_capacity(gate.num_ops);
    for i in 0..gate.num_ops {
        let m0 = vars.wire(4 * i)?;
        let m1 = vars.wire(4 * i + 1)?;
        let addend = vars.wire(4 * i + 2)?;
        let output = vars.wire(4 * i + 3)?;
        let product = alg.mul(&m0, &m1);
        let product = alg.mul(&product, &c0);
        let scaled_addend = alg.mul(&addend, &c1);
        let computed = alg.add(&product, &scaled_addend);
        constraints.push(alg.sub(&output, &computed));
    }
    Ok(constraints)
}

/// `ArithmeticExtensionGate`: the same in the algebra, on wires `8i .. 8i + 8`.
pub(super) fn arithmetic_extension<A: Algebra>(
    alg: &mut A,
    gate: &ArithmeticExtensionGate<D>,
    vars: GateVars<'_, A>,
) -> Result<Vec<A::Ext>, EvalError> {
    vars.require_wires(gate.num_ops.checked_mul(4 * D))?;
    let c0 = vars.constant(0)?;
    let c1 = vars.constant(1)?;
    let mut constraints = Vec::with_capacity(gate.num_ops * D);
    for i in 0..gate.num_ops {
        let start = 4 * D * i;
        let m0 = vars.wire_alg(start)?;
        let m1 = vars.wire_alg(start + D)?;
        let addend = vars.wire_alg(start + 2 * D)?;
        let output = vars.wire_alg(start + 3 * D)?;
        let product = alg_mul(alg, &m0, &m1);
        let product = alg_scalar_mul(alg, &product, &c0);
        let scaled_addend = alg_scalar_mul(alg, &addend, &c1);
        let computed = alg_add(alg, &product, &scaled_addend);
        constraints.extend(alg_sub(alg, &output, &computed));
    }
    Ok(constraints)
}

/// `MulExtensionGate`: `output_i = c0 · m0_i · m1_i` in the algebra, on wires
/// `6i .. 6i + 6`.
pub(super) fn mul_extension<A: Algebra>(
    alg: &mut A,
    gate: &MulExtensionGate<D>,
    vars: GateVars<'_, A>,
) -> Result<Vec<A::Ext>, EvalError> {
    vars.require_wires(gate.num_ops.checked_mul(3 * D))?;
    let c0 = vars.constant(0)?;
    let mut constraints = Vec::with_capacity(gate.num_ops * D);
    for i in 0..gate.num_ops {
        let start = 3 * D * i;
        let m0 = vars.wire_alg(start)?;
        let m1 = vars.wire_alg(start + D)?;
        let output = vars.wire_alg(start + 2 * D)?;
        let product = alg_mul(alg, &m0, &m1);
        let computed = alg_scalar_mul(alg, &product, &c0);
        constraints.extend(alg_sub(alg, &output, &computed));
    }
    Ok(constraints)
}

/// `ConstantGate`: `constant_i - wire_i`.
pub(super) fn constant<A: Algebra>(
    alg: &mut A,
    num_consts: usize,
    vars: GateVars<'_, A>,
) -> Result<Vec<A::Ext>, EvalError> {
    vars.require_wires(Some(num_consts))?;
    (0..num_consts).map(|i| Ok(alg.sub(&vars.constant(i)?, &vars.wire(i)?))).collect()
}

/// `PublicInputGate`: `wire_i - hash_i` for the four elements of the public-inputs hash.
pub(super) fn public_input<A: Algebra>(alg: &mut A, vars: GateVars<'_, A>) -> Result<Vec<A::Ext>, EvalError> {
    let mut constraints = Vec::with_capacity(4);
    for (i, hash_element) in vars.public_inputs_hash.iter().enumerate() {
        let wire = vars.wire(i)?;
        let hash_element = alg.ext_from_base(hash_element);
        constraints.push(alg.sub(&wire, &hash_element));
    }
    Ok(constraints)
}

/// `BaseSumGate<B>`: the sum (wire 0) is `Σ limb_i · B^i` over the limbs (wires
/// `1 ..= num_limbs`), and each limb is in `0..B`: `Π_{k < B} (limb - k) = 0`.
pub(super) fn base_sum<A: Algebra>(
    alg: &mut A,
    base: usize,
    num_limbs: usize,
    vars: GateVars<'_, A>,
) -> Result<Vec<A::Ext>, EvalError> {
    vars.require_wires(num_limbs.checked_add(1))?;
    let sum = vars.wire(0)?;
    let limbs = (1..=num_limbs).map(|i| vars.wire(i)).collect::<Result<Vec<_>, _>>()?;
    let radix = Gl::from_canonical_usize(base);

    // Horner, most significant limb first (plonky2's `reduce_with_powers`).
    let mut computed: Option<A::Ext> = None;
    for limb in limbs.iter().rev() {
        computed = Some(match computed {
            Some(acc) => {
                let shifted = scale_base(alg, &acc, radix);
                alg.add(&shifted, limb)
            }
            None => limb.clone(),
        });
    }
    let computed = match computed {
        Some(value) => value,
        None => alg.zero(),
    };

    let mut constraints = Vec::with_capacity(num_limbs + 1);
    constraints.push(alg.sub(&computed, &sum));
    for limb in &limbs {
        let mut product = limb.clone();
        for k in 1..base {
            let term = alg.add_constant(limb, -GlExt::from_canonical_usize(k));
            product = alg.mul(&product, &term);
        }
        constraints.push(product);
    }
    Ok(constraints)
}

/// `ExponentiationGate`: square-and-multiply on the exponent's bits, most significant
/// first. Wires: the base (0), the bits (little-endian, `1 ..= n`), the output
/// (`n + 1`) and the intermediate values (`n + 2 ..`).
pub(super) fn exponentiation<A: Algebra>(
    alg: &mut A,
    num_power_bits: usize,
    vars: GateVars<'_, A>,
) -> Result<Vec<A::Ext>, EvalError> {
    if num_power_bits == 0 {
        return Err(EvalError::Malformed("no exponent bits"));
    }
    vars.require_wires(num_power_bits.checked_mul(2).and_then(|w| w.checked_add(2)))?;
    let n = num_power_bits;
    let base = vars.wire(0)?;
    let bits = (0..n).map(|i| vars.wire(1 + i)).collect::<Result<Vec<_>, _>>()?;
    let output = vars.wire(1 + n)?;
    let intermediates = (0..n).map(|i| vars.wire(2 + n + i)).collect::<Result<Vec<_>, _>>()?;

    let mut constraints = Vec::with_capacity(n + 1);
    let mut previous: Option<&A::Ext> = None;
    for (bit, intermediate) in bits.iter().rev().zip(&intermediates) {
        // `prev^2 · (bit · base + (1 - bit))`, with `prev^2 = 1` in the first step.
        let squared = previous.map(|p| alg.square(p));
        let bit_base = alg.mul(bit, &base);
        let one = alg.one();
        let not_bit = alg.sub(&one, bit);
        let factor = alg.add(&bit_base, &not_bit);
        let computed = mul_opt(alg, squared.as_ref(), &factor);
        constraints.push(alg.sub(&computed, intermediate));
        previous = Some(intermediate);
    }
    let last = previous.ok_or(EvalError::Malformed("no exponent bits"))?;
    constraints.push(alg.sub(&output, last));
    Ok(constraints)
}

/// `RandomAccessGate`: per copy, the index's bits are boolean and recompose the
/// index, and folding the list by the bits gives the claimed element; then the extra
/// constants equal their wires.
pub(super) fn random_access<A: Algebra>(
    alg: &mut A,
    gate: &RandomAccessGate<Gl, D>,
    vars: GateVars<'_, A>,
) -> Result<Vec<A::Ext>, EvalError> {
    let shift = u32::try_from(gate.bits).map_err(|_| EvalError::Malformed("too many index bits"))?;
    let vec_size = 1usize.checked_shl(shift).ok_or(EvalError::Malformed("too many index bits"))?;
    let stride = vec_size.checked_add(2);
    let start_extra = stride.and_then(|s| s.checked_mul(gate.num_copies));
    let num_routed = start_extra.and_then(|s| s.checked_add(gate.num_extra_constants));
    let num_wires =
        num_routed.and_then(|r| gate.num_copies.checked_mul(gate.bits).and_then(|b| r.checked_add(b)));
    vars.require_wires(num_wires)?;
    // Every index below is smaller than `num_wires`, which did not overflow.
    let (stride, start_extra, num_routed) = match (stride, start_extra, num_routed) {
        (Some(a), Some(b), Some(c)) => (a, b, c),
        _ => return Err(EvalError::Malformed("wire count overflows")),
    };

    let mut constraints = Vec::new();
    for copy in 0..gate.num_copies {
        let access_index = vars.wire(stride * copy)?;
        let claimed = vars.wire(stride * copy + 1)?;
        let mut items =
            (0..vec_size).map(|i| vars.wire(stride * copy + 2 + i)).collect::<Result<Vec<_>, _>>()?;
        let bits = (0..gate.bits)
            .map(|i| vars.wire(num_routed + copy * gate.bits + i))
            .collect::<Result<Vec<_>, _>>()?;

        for b in &bits {
            let b_minus_one = alg.add_constant(b, -GlExt::ONE);
            constraints.push(alg.mul(b, &b_minus_one));
        }

        // Σ bits[i] · 2^i, most significant first.
        let mut reconstructed: Option<A::Ext> = None;
        for b in bits.iter().rev() {
            reconstructed = Some(match reconstructed {
                Some(acc) => {
                    let doubled = alg.add(&acc, &acc);
                    alg.add(&doubled, b)
                }
                None => b.clone(),
            });
        }
        let reconstructed = match reconstructed {
            Some(value) => value,
            None => alg.zero(),
        };
        constraints.push(alg.sub(&reconstructed, &access_index));

        for b in &bits {
            let mut folded = Vec::with_capacity(items.len() / 2);
            for pair in items.chunks_exact(2) {
                let difference = alg.sub(&pair[1], &pair[0]);
                let selected = alg.mul(b, &difference);
                folded.push(alg.add(&pair[0], &selected));
            }
            items = folded;
        }
        let [element] = items.as_slice() else {
            return Err(EvalError::Malformed("list does not fold to one element"));
        };
        constraints.push(alg.sub(element, &claimed));
    }

    for i in 0..gate.num_extra_constants {
        let constant = vars.constant(i)?;
        let wire = vars.wire(start_extra + i)?;
        constraints.push(alg.sub(&constant, &wire));
    }
    Ok(constraints)
}

/// `ReducingGate` (`extension_coeffs = false`, base-field coefficients on single
/// wires) and `ReducingExtensionGate` (`true`, coefficients in the algebra):
/// `acc_i = acc_{i-1} · alpha + coeff_i` in the algebra, from `old_acc`, the last
/// accumulator being the output. Wires: output `0..2`, alpha `2..4`, old accumulator
/// `4..6`, the coefficients, then the other accumulators.
pub(super) fn reducing<A: Algebra>(
    alg: &mut A,
    num_coeffs: usize,
    extension_coeffs: bool,
    vars: GateVars<'_, A>,
) -> Result<Vec<A::Ext>, EvalError> {
    let coeff_width = if extension_coeffs { D } else { 1 };
    // `2D + n·(D + coeff_width)`, plonky2's `num_wires`.
    let num_wires = num_coeffs.checked_mul(D + coeff_width).and_then(|w| w.checked_add(2 * D));
    vars.require_wires(num_wires)?;
    let start_coeffs = 3 * D;
    let start_accs = start_coeffs + coeff_width * num_coeffs;

    let alpha = vars.wire_alg(D)?;
    let mut acc = vars.wire_alg(2 * D)?;
    let mut constraints = Vec::with_capacity(D * num_coeffs);
    for i in 0..num_coeffs {
        let coeff: Alg<A> = if extension_coeffs {
            vars.wire_alg(start_coeffs + D * i)?
        } else {
            let zero = alg.zero();
            [vars.wire(start_coeffs + i)?, zero]
        };
        let next = if i + 1 == num_coeffs { vars.wire_alg(0)? } else { vars.wire_alg(start_accs + D * i)? };
        let product = alg_mul(alg, &acc, &alpha);
        let computed = if extension_coeffs {
            alg_add(alg, &product, &coeff)
        } else {
            // Only the first coordinate of a base-field coefficient is non-zero.
            [alg.add(&product[0], &coeff[0]), product[1].clone()]
        };
        constraints.extend(alg_sub(alg, &computed, &next));
        acc = next;
    }
    Ok(constraints)
}

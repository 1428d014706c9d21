//! The permutation as R1CS constraints over `Fr`.
//!
//! Round constants and the MDS matrix are linear and cost no constraint; each S-box
//! `x^5` is three multiplications (`x² = x·x`, `x⁴ = x²·x²`, `x⁵ = x⁴·x`), each one
//! constraint and one witness. With 8 full rounds of 5 S-boxes and 60 partial rounds
//! of one, the permutation costs [`CONSTRAINTS`] `= (8·5 + 60)·3 = 300` constraints.
//! An S-box whose input is a constant (a constant state element before it has been
//! mixed, e.g. a domain tag or zero padding in the first round) is computed
//! natively and costs nothing, so a state with constant elements costs less.
//!
//! Each state element after the linear layer is one symbolic linear combination
//! (`new_lc`) of at most five variables and the constant, so the constraint system
//! stays small to build; it is expanded when the system is finalized.
//!
//! No witness value is needed to build the constraints: the permutation also runs in
//! setup mode.

use ark_bls12_381::Fr;
use ark_ff::{Field, Zero};
use ark_r1cs_std::fields::fp::{AllocatedFp, FpVar};
use ark_r1cs_std::R1CSVar;
use ark_relations::r1cs::{ConstraintSystemRef, LinearCombination, SynthesisError, Variable};

use super::is_full_round;
use super::params::{params, FULL_ROUNDS, PARTIAL_ROUNDS, WIDTH};

/// The number of constraints of [`permute`] on a state without constant elements.
pub const CONSTRAINTS: usize = (FULL_ROUNDS * WIDTH + PARTIAL_ROUNDS) * 3;

/// A state element: a constant, or an affine combination of variables with its value
/// when known (not in setup mode).
#[derive(Clone)]
enum Element {
    Constant(Fr),
    Affine(LinearCombination<Fr>, Option<Fr>),
}

impl Element {
    fn from_var(var: &FpVar<Fr>) -> Self {
        match var {
            FpVar::Constant(c) => Self::Constant(*c),
            FpVar::Var(v) => Self::Affine(LinearCombination::from(v.variable), v.value().ok()),
        }
    }

    fn add_constant(self, c: Fr) -> Self {
        match self {
            Self::Constant(a) => Self::Constant(a + c),
            Self::Affine(lc, value) => Self::Affine(lc + (c, Variable::One), value.map(|v| v + c)),
        }
    }

    fn value(&self) -> Option<Fr> {
        match self {
            Self::Constant(c) => Some(*c),
            Self::Affine(_, value) => *value,
        }
    }

    fn lc(&self) -> LinearCombination<Fr> {
        match self {
            Self::Constant(c) => LinearCombination::from((*c, Variable::One)),
            Self::Affine(lc, _) => lc.clone(),
        }
    }
}

/// The Poseidon permutation over the BLS12-381 scalar field, in-circuit.
///
/// A state of constants gives constants and no constraint. The result equals
/// [`super::permute`] on the values.
pub fn permute(state: &[FpVar<Fr>; WIDTH]) -> Result<[FpVar<Fr>; WIDTH], SynthesisError> {
    let cs = state.iter().fold(ConstraintSystemRef::None, |cs, var| cs.or(var.cs()));
    if cs.is_none() {
        let mut values = [Fr::from(0u64); WIDTH];
        for (value, var) in values.iter_mut().zip(state) {
            *value = var.value()?;
        }
        super::permute(&mut values);
        return Ok(values.map(FpVar::Constant));
    }

    let params = params();
    let mut elements: [Element; WIDTH] = core::array::from_fn(|i| Element::from_var(&state[i]));
    for (round, constants) in params.round_constants.iter().enumerate() {
        for (element, constant) in elements.iter_mut().zip(constants) {
            *element = element.clone().add_constant(*constant);
        }
        if is_full_round(round) {
            for element in elements.iter_mut() {
                *element = sbox(&cs, element)?;
            }
        } else {
            elements[0] = sbox(&cs, &elements[0])?;
        }
        elements = mds(&cs, &params.mds, &elements)?;
    }

    let mut out: [FpVar<Fr>; WIDTH] = core::array::from_fn(|_| FpVar::Constant(Fr::from(0u64)));
    for (var, element) in out.iter_mut().zip(elements) {
        *var = match element {
            Element::Constant(c) => FpVar::Constant(c),
            Element::Affine(lc, value) => {
                let variable = match lc.0.as_slice() {
                    [(coefficient, variable)] if *coefficient == Fr::from(1u64) => *variable,
                    _ => cs.new_lc(lc)?,
                };
                FpVar::Var(AllocatedFp::new(value, variable, cs.clone()))
            }
        };
    }
    Ok(out)
}

/// `x^5` in three constraints (none for a constant).
fn sbox(cs: &ConstraintSystemRef<Fr>, x: &Element) -> Result<Element, SynthesisError> {
    if let Element::Constant(c) = x {
        return Ok(Element::Constant(c.pow([5u64])));
    }
    let x_value = x.value();
    let x2_value = x_value.map(|v| v.square());
    let x4_value = x2_value.map(|v| v.square());
    let x5_value = x4_value.zip(x_value).map(|(a, b)| a * b);
    let x_lc = x.lc();

    let x2 = cs.new_witness_variable(|| x2_value.ok_or(SynthesisError::AssignmentMissing))?;
    cs.enforce_constraint(x_lc.clone(), x_lc.clone(), LinearCombination::from(x2))?;
    let x4 = cs.new_witness_variable(|| x4_value.ok_or(SynthesisError::AssignmentMissing))?;
    cs.enforce_constraint(
        LinearCombination::from(x2),
        LinearCombination::from(x2),
        LinearCombination::from(x4),
    )?;
    let x5 = cs.new_witness_variable(|| x5_value.ok_or(SynthesisError::AssignmentMissing))?;
    cs.enforce_constraint(LinearCombination::from(x4), x_lc, LinearCombination::from(x5))?;
    Ok(Element::Affine(LinearCombination::from(x5), x5_value))
}

/// The linear layer; each non-constant output becomes one symbolic variable.
fn mds(
    cs: &ConstraintSystemRef<Fr>,
    matrix: &[[Fr; WIDTH]; WIDTH],
    elements: &[Element; WIDTH],
) -> Result<[Element; WIDTH], SynthesisError> {
    let mut out: [Element; WIDTH] = core::array::from_fn(|_| Element::Constant(Fr::from(0u64)));
    for (output, row) in out.iter_mut().zip(matrix) {
        let mut constant = Fr::from(0u64);
        let mut lc = LinearCombination::zero();
        let mut value = Some(Fr::from(0u64));
        let mut is_constant = true;
        for (coefficient, element) in row.iter().zip(elements) {
            match element {
                Element::Constant(c) => constant += *coefficient * c,
                Element::Affine(terms, element_value) => {
                    is_constant = false;
                    lc = &lc + (*coefficient, terms);
                    value = value.zip(*element_value).map(|(acc, v)| acc + *coefficient * v);
                }
            }
        }
        *output = if is_constant {
            Element::Constant(constant)
        } else {
            if !constant.is_zero() {
                lc += (constant, Variable::One);
            }
            let variable = cs.new_lc(lc)?;
            Element::Affine(LinearCombination::from(variable), value.map(|v| v + constant))
        };
    }
    Ok(out)
}

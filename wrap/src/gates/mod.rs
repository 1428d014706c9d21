//! plonky2's gate constraints, written once over [`Algebra`].
//!
//! The wrapper verifier evaluates, at the challenge point ζ, the constraints of every
//! gate of the circuit it verifies, natively and in R1CS, with this code.
//! [`evaluate_gate_constraints`] mirrors plonky2's
//! `plonky2::plonk::vanishing_poly::evaluate_gate_constraints`: each gate's
//! unfiltered constraints ([`eval_unfiltered`], a port of the gate's own
//! `eval_unfiltered`) are multiplied by the gate's filter, the product of
//! `(j - s)` over the other gates `j` of the gate's selector group (and over
//! `u32::MAX`, plonky2's "unused selector" value, when there are several groups),
//! where `s` is the opening of the group's selector polynomial; and the filtered
//! constraints of all gates are summed slot by slot into `num_gate_constraints`
//! values.
//!
//! Gates are recognised by downcasting to plonky2's concrete gate types; a gate that
//! is not one of the gates below is an error, [`GateError::UnsupportedGate`]:
//! `ArithmeticGate`, `ArithmeticExtensionGate`, `MulExtensionGate`, `BaseSumGate<B>`
//! for `2 ≤ B ≤ 16`, `ConstantGate`, `CosetInterpolationGate`, `ExponentiationGate`,
//! `NoopGate`, `PoseidonGate`, `PoseidonMdsGate`, `PublicInputGate`,
//! `RandomAccessGate`, `ReducingGate` and `ReducingExtensionGate` (lookups are not
//! supported).
//!
//! # Cost
//!
//! In R1CS a product of two variables costs constraints while additions and products
//! by constants do not, so the ports keep plonky2's formulas but never multiply by a
//! value known to be `0` or `1`, multiply by constants with [`Algebra::scale`], and
//! multiply in the degree-2 algebra over the extension (plonky2's
//! `ExtensionAlgebra`) with Karatsuba (three products instead of four). The values
//! are exactly plonky2's: field arithmetic is exact, so any formula for the same
//! polynomial gives the same element.

mod arithmetic;
mod interpolation;
mod poseidon;

use core::ops::Range;

use plonky2::field::extension::Extendable;
use plonky2::field::types::Field;
use plonky2::gates::arithmetic_base::ArithmeticGate;
use plonky2::gates::arithmetic_extension::ArithmeticExtensionGate;
use plonky2::gates::base_sum::BaseSumGate;
use plonky2::gates::constant::ConstantGate;
use plonky2::gates::coset_interpolation::CosetInterpolationGate;
use plonky2::gates::exponentiation::ExponentiationGate;
use plonky2::gates::gate::GateRef;
use plonky2::gates::multiplication_extension::MulExtensionGate;
use plonky2::gates::noop::NoopGate;
use plonky2::gates::poseidon::PoseidonGate;
use plonky2::gates::poseidon_mds::PoseidonMdsGate;
use plonky2::gates::public_input::PublicInputGate;
use plonky2::gates::random_access::RandomAccessGate;
use plonky2::gates::reducing::ReducingGate;
use plonky2::gates::reducing_extension::ReducingExtensionGate;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, Read, Write};

use crate::algebra::{Algebra, Gl, GlExt};
use crate::poseidon_goldilocks::embed;

/// The extension degree of the circuits the wrapper verifies.
pub const D: usize = 2;

/// plonky2's selector value of gates that use no selector (`u32::MAX`).
const UNUSED_SELECTOR: u64 = u32::MAX as u64;

/// Why gate constraints could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// The circuit uses a gate this verifier does not implement.
    #[error("gate {id} is not supported by the wrapper verifier")]
    UnsupportedGate {
        /// The gate's plonky2 id.
        id: String,
    },
    /// A supported gate has parameters that plonky2 itself would not produce.
    #[error("gate {id} is malformed: {reason}")]
    MalformedGate {
        /// The gate's plonky2 id.
        id: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A gate reads a wire or constant beyond those given.
    #[error("gate {id} reads {what} {index}, but only {available} are given")]
    MissingValue {
        /// The gate's plonky2 id.
        id: String,
        /// `"wire"` or `"constant"`.
        what: &'static str,
        /// The index read.
        index: usize,
        /// The number of values given.
        available: usize,
    },
    /// The openings do not have the circuit's shape.
    #[error("{got} {what} given, the circuit has {expected}")]
    OpeningShape {
        /// `"wires"` or `"constants"`.
        what: &'static str,
        /// The circuit's count.
        expected: usize,
        /// The count given.
        got: usize,
    },
    /// The circuit data is inconsistent (selectors, constraint counts).
    #[error("malformed circuit data: {reason}")]
    MalformedCircuit {
        /// What is wrong.
        reason: &'static str,
    },
}

/// The values one gate's constraints are evaluated on: the openings at ζ of the
/// constant polynomials (without the selector prefix) and of the wires, and the
/// public-inputs hash.
pub struct GateVars<'a, A: Algebra> {
    /// The constants, selectors removed (plonky2's `EvaluationVars::local_constants`
    /// after `remove_prefix`).
    pub local_constants: &'a [A::Ext],
    /// The wires.
    pub local_wires: &'a [A::Ext],
    /// The hash of the public inputs.
    pub public_inputs_hash: &'a [A::Base; 4],
}

impl<A: Algebra> Clone for GateVars<'_, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A: Algebra> Copy for GateVars<'_, A> {}

/// A failure inside one gate's evaluation, before the gate's id is attached.
#[derive(Debug)]
pub(crate) enum EvalError {
    /// A wire or constant beyond those given.
    Missing { what: &'static str, index: usize, available: usize },
    /// Parameters plonky2 would not produce.
    Malformed(&'static str),
}

impl EvalError {
    fn with_id(self, id: String) -> GateError {
        match self {
            Self::Missing { what, index, available } => {
                GateError::MissingValue { id, what, index, available }
            }
            Self::Malformed(reason) => GateError::MalformedGate { id, reason },
        }
    }
}

impl<A: Algebra> GateVars<'_, A> {
    /// Wire `index`.
    pub(crate) fn wire(&self, index: usize) -> Result<A::Ext, EvalError> {
        self.local_wires.get(index).cloned().ok_or(EvalError::Missing {
            what: "wire",
            index,
            available: self.local_wires.len(),
        })
    }

    /// Wires `start` and `start + 1` as an element of the algebra.
    pub(crate) fn wire_alg(&self, start: usize) -> Result<Alg<A>, EvalError> {
        let next = start.checked_add(1).ok_or(EvalError::Malformed("wire index overflows"))?;
        Ok([self.wire(start)?, self.wire(next)?])
    }

    /// Constant `index`.
    pub(crate) fn constant(&self, index: usize) -> Result<A::Ext, EvalError> {
        self.local_constants.get(index).cloned().ok_or(EvalError::Missing {
            what: "constant",
            index,
            available: self.local_constants.len(),
        })
    }

    /// Checks that at least `count` wires are given (so indices below `count` are
    /// valid), for gates whose layout is computed from parameters.
    pub(crate) fn require_wires(&self, count: Option<usize>) -> Result<(), EvalError> {
        let count = count.ok_or(EvalError::Malformed("wire count overflows"))?;
        if count > self.local_wires.len() {
            return Err(EvalError::Missing {
                what: "wire",
                index: count - 1,
                available: self.local_wires.len(),
            });
        }
        Ok(())
    }
}

/// An element `a0 + a1·Y` of the algebra `Ext[Y]/(Y^2 - 7)` in which plonky2's
/// extension gates compute (`ExtensionAlgebra<GoldilocksExt, 2>`); its two
/// coordinates are the gate's two constraints.
pub(crate) type Alg<A> = [<A as Algebra>::Ext; D];

/// `a + b` in the algebra.
pub(crate) fn alg_add<A: Algebra>(alg: &mut A, a: &Alg<A>, b: &Alg<A>) -> Alg<A> {
    [alg.add(&a[0], &b[0]), alg.add(&a[1], &b[1])]
}

/// `a - b` in the algebra.
pub(crate) fn alg_sub<A: Algebra>(alg: &mut A, a: &Alg<A>, b: &Alg<A>) -> Alg<A> {
    [alg.sub(&a[0], &b[0]), alg.sub(&a[1], &b[1])]
}

/// `a · b` in the algebra, Karatsuba: three products.
pub(crate) fn alg_mul<A: Algebra>(alg: &mut A, a: &Alg<A>, b: &Alg<A>) -> Alg<A> {
    let low = alg.mul(&a[0], &b[0]);
    let high = alg.mul(&a[1], &b[1]);
    let a_sum = alg.add(&a[0], &a[1]);
    let b_sum = alg.add(&b[0], &b[1]);
    let cross = alg.mul(&a_sum, &b_sum);
    let high_w = alg.scale(&high, embed(<Gl as Extendable<D>>::W));
    let c0 = alg.add(&low, &high_w);
    let cross = alg.sub(&cross, &low);
    let c1 = alg.sub(&cross, &high);
    [c0, c1]
}

/// `s · a` for `s` in the extension (plonky2's `scalar_mul`): two products.
pub(crate) fn alg_scalar_mul<A: Algebra>(alg: &mut A, a: &Alg<A>, s: &A::Ext) -> Alg<A> {
    [alg.mul(&a[0], s), alg.mul(&a[1], s)]
}

/// `c · a` for a constant `c` of the base field.
pub(crate) fn alg_scale<A: Algebra>(alg: &mut A, a: &Alg<A>, c: Gl) -> Alg<A> {
    let c = embed(c);
    [alg.scale(&a[0], c), alg.scale(&a[1], c)]
}

/// `c · a` for a constant `c` of the base field.
pub(crate) fn scale_base<A: Algebra>(alg: &mut A, a: &A::Ext, c: Gl) -> A::Ext {
    alg.scale(a, embed(c))
}

/// `a · b`, where `None` stands for `1` (so no product is emitted for it).
pub(crate) fn mul_opt<A: Algebra>(alg: &mut A, a: Option<&A::Ext>, b: &A::Ext) -> A::Ext {
    match a {
        Some(a) => alg.mul(a, b),
        None => b.clone(),
    }
}

/// Evaluates the unfiltered constraints of one gate (a port of the gate's
/// `eval_unfiltered`), with the constants after the selector prefix.
pub fn eval_unfiltered<A: Algebra>(
    alg: &mut A,
    gate: &GateRef<Gl, D>,
    vars: GateVars<'_, A>,
) -> Result<Vec<A::Ext>, GateError> {
    let any = gate.0.as_any();
    let result = if let Some(g) = any.downcast_ref::<ArithmeticGate>() {
        arithmetic::arithmetic_base(alg, g, vars)
    } else if let Some(g) = any.downcast_ref::<ArithmeticExtensionGate<D>>() {
        arithmetic::arithmetic_extension(alg, g, vars)
    } else if let Some(g) = any.downcast_ref::<MulExtensionGate<D>>() {
        arithmetic::mul_extension(alg, g, vars)
    } else if let Some(g) = any.downcast_ref::<ConstantGate>() {
        let num_consts = <ConstantGate as plonky2::gates::gate::Gate<Gl, D>>::num_constants(g);
        arithmetic::constant(alg, num_consts, vars)
    } else if any.downcast_ref::<NoopGate>().is_some() {
        Ok(Vec::new())
    } else if any.downcast_ref::<PublicInputGate>().is_some() {
        arithmetic::public_input(alg, vars)
    } else if let Some(g) = any.downcast_ref::<ExponentiationGate<Gl, D>>() {
        arithmetic::exponentiation(alg, g.num_power_bits, vars)
    } else if let Some(g) = any.downcast_ref::<RandomAccessGate<Gl, D>>() {
        arithmetic::random_access(alg, g, vars)
    } else if let Some(g) = any.downcast_ref::<ReducingGate<D>>() {
        arithmetic::reducing(alg, g.num_coeffs, false, vars)
    } else if let Some(g) = any.downcast_ref::<ReducingExtensionGate<D>>() {
        arithmetic::reducing(alg, g.num_coeffs, true, vars)
    } else if let Some(g) = any.downcast_ref::<CosetInterpolationGate<Gl, D>>() {
        interpolation::coset_interpolation(alg, g, vars)
    } else if any.downcast_ref::<PoseidonGate<Gl, D>>().is_some() {
        poseidon::poseidon(alg, vars)
    } else if any.downcast_ref::<PoseidonMdsGate<Gl, D>>().is_some() {
        poseidon::poseidon_mds(alg, vars)
    } else if let Some(result) = base_sum_any(alg, any, vars) {
        result
    } else {
        return Err(GateError::UnsupportedGate { id: gate.0.id() });
    };
    result.map_err(|e| e.with_id(gate.0.id()))
}

/// `BaseSumGate<B>` for the bases `B` this verifier recognises.
fn base_sum_any<A: Algebra>(
    alg: &mut A,
    any: &dyn core::any::Any,
    vars: GateVars<'_, A>,
) -> Option<Result<Vec<A::Ext>, EvalError>> {
    macro_rules! try_bases {
        ($($b:literal)*) => {
            $(
                if let Some(g) = any.downcast_ref::<BaseSumGate<$b>>() {
                    return Some(arithmetic::base_sum(alg, $b, g.num_limbs, vars));
                }
            )*
        };
    }
    try_bases!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    None
}

/// A short static name of a supported gate's type, for [`Algebra::section`].
fn section_name(gate: &GateRef<Gl, D>) -> &'static str {
    let any = gate.0.as_any();
    macro_rules! names {
        ($($ty:ty => $name:literal,)*) => {
            $(
                if any.is::<$ty>() {
                    return $name;
                }
            )*
        };
    }
    names! {
        ArithmeticGate => "gate ArithmeticGate",
        ArithmeticExtensionGate<D> => "gate ArithmeticExtensionGate",
        MulExtensionGate<D> => "gate MulExtensionGate",
        ConstantGate => "gate ConstantGate",
        NoopGate => "gate NoopGate",
        PublicInputGate => "gate PublicInputGate",
        ExponentiationGate<Gl, D> => "gate ExponentiationGate",
        RandomAccessGate<Gl, D> => "gate RandomAccessGate",
        ReducingGate<D> => "gate ReducingGate",
        ReducingExtensionGate<D> => "gate ReducingExtensionGate",
        CosetInterpolationGate<Gl, D> => "gate CosetInterpolationGate",
        PoseidonGate<Gl, D> => "gate PoseidonGate",
        PoseidonMdsGate<Gl, D> => "gate PoseidonMdsGate",
        BaseSumGate<2> => "gate BaseSumGate",
        BaseSumGate<3> => "gate BaseSumGate",
        BaseSumGate<4> => "gate BaseSumGate",
        BaseSumGate<5> => "gate BaseSumGate",
        BaseSumGate<6> => "gate BaseSumGate",
        BaseSumGate<7> => "gate BaseSumGate",
        BaseSumGate<8> => "gate BaseSumGate",
        BaseSumGate<9> => "gate BaseSumGate",
        BaseSumGate<10> => "gate BaseSumGate",
        BaseSumGate<11> => "gate BaseSumGate",
        BaseSumGate<12> => "gate BaseSumGate",
        BaseSumGate<13> => "gate BaseSumGate",
        BaseSumGate<14> => "gate BaseSumGate",
        BaseSumGate<15> => "gate BaseSumGate",
        BaseSumGate<16> => "gate BaseSumGate",
    }
    "gate unsupported"
}

/// The selector layout of a circuit: for each gate its selector polynomial, and for
/// each selector polynomial the range of gates it serves.
struct Selectors {
    indices: Vec<usize>,
    groups: Vec<Range<usize>>,
}

impl Selectors {
    /// Reads plonky2's `SelectorsInfo` (whose fields are crate-private) through its
    /// public serialisation.
    fn of(common: &CommonCircuitData<Gl, D>) -> Result<Self, GateError> {
        let malformed = |reason| GateError::MalformedCircuit { reason };
        let mut bytes = Vec::new();
        bytes.write_selectors_info(&common.selectors_info).map_err(|_| malformed("selectors"))?;
        let mut buffer = Buffer::new(&bytes);
        let indices = buffer.read_usize_vec().map_err(|_| malformed("selector indices"))?;
        let num_groups = buffer.read_usize().map_err(|_| malformed("selector groups"))?;
        let mut groups = Vec::new();
        for _ in 0..num_groups {
            let start = buffer.read_usize().map_err(|_| malformed("selector groups"))?;
            let end = buffer.read_usize().map_err(|_| malformed("selector groups"))?;
            groups.push(start..end);
        }
        let num_gates = common.gates.len();
        if indices.len() != num_gates {
            return Err(malformed("one selector index per gate"));
        }
        if groups.len() != common.selectors_info.num_selectors() {
            return Err(malformed("selector group count"));
        }
        for (row, index) in indices.iter().enumerate() {
            let group = groups.get(*index).ok_or(malformed("selector index out of range"))?;
            if !group.contains(&row) || group.end > num_gates {
                return Err(malformed("gate outside its selector group"));
            }
        }
        Ok(Self { indices, groups })
    }
}

/// plonky2's `compute_filter`: `Π (j - s)` over the gates `j ≠ row` of the group, and
/// over `u32::MAX` when there are several groups; `None` for the empty product `1`.
fn compute_filter<A: Algebra>(
    alg: &mut A,
    row: usize,
    group: Range<usize>,
    s: &A::Ext,
    many_selectors: bool,
) -> Option<A::Ext> {
    let points = group
        .filter(|&j| j != row)
        .map(GlExt::from_canonical_usize)
        .chain(many_selectors.then(|| GlExt::from_canonical_u64(UNUSED_SELECTOR)));
    let mut filter: Option<A::Ext> = None;
    for point in points {
        let point = alg.ext_constant(point);
        let term = alg.sub(&point, s);
        filter = Some(mul_opt(alg, filter.as_ref(), &term));
    }
    filter
}

/// The gate constraints of a circuit at ζ, equal to plonky2's
/// `vanishing_poly::evaluate_gate_constraints`: `num_gate_constraints` values, each the
/// sum over the gates of the filtered constraint of that index.
///
/// `local_constants` are the openings of all constant polynomials (selectors first),
/// `local_wires` those of all wires; their lengths must be the circuit's. Opens an
/// [`Algebra::section`] per gate, named after the gate's type (the filter's products
/// are counted with the gate).
pub fn evaluate_gate_constraints<A: Algebra>(
    alg: &mut A,
    common: &CommonCircuitData<Gl, D>,
    local_constants: &[A::Ext],
    local_wires: &[A::Ext],
    public_inputs_hash: &[A::Base; 4],
) -> Result<Vec<A::Ext>, GateError> {
    if local_constants.len() != common.num_constants {
        return Err(GateError::OpeningShape {
            what: "constants",
            expected: common.num_constants,
            got: local_constants.len(),
        });
    }
    if local_wires.len() != common.config.num_wires {
        return Err(GateError::OpeningShape {
            what: "wires",
            expected: common.config.num_wires,
            got: local_wires.len(),
        });
    }
    let selectors = Selectors::of(common)?;
    let many_selectors = selectors.groups.len() > 1;
    let prefix = selectors
        .groups
        .len()
        .checked_add(common.num_lookup_selectors)
        .ok_or(GateError::MalformedCircuit { reason: "selector count overflows" })?;
    let gate_constants = local_constants
        .get(prefix..)
        .ok_or(GateError::MalformedCircuit { reason: "more selectors than constants" })?;
    let vars = GateVars { local_constants: gate_constants, local_wires, public_inputs_hash };

    let mut slots: Vec<Option<A::Ext>> = vec![None; common.num_gate_constraints];
    for (row, (gate, selector)) in common.gates.iter().zip(&selectors.indices).enumerate() {
        alg.section(section_name(gate));
        let group = selectors
            .groups
            .get(*selector)
            .cloned()
            .ok_or(GateError::MalformedCircuit { reason: "selector index out of range" })?;
        let s = local_constants
            .get(*selector)
            .ok_or(GateError::MalformedCircuit { reason: "selector beyond the constants" })?;
        let filter = compute_filter(alg, row, group, s, many_selectors);
        let constraints = eval_unfiltered(alg, gate, vars)?;
        if constraints.len() > slots.len() {
            return Err(GateError::MalformedCircuit {
                reason: "a gate has more constraints than num_gate_constraints",
            });
        }
        for (slot, constraint) in slots.iter_mut().zip(constraints) {
            let filtered = mul_opt(alg, filter.as_ref(), &constraint);
            *slot = Some(match slot.take() {
                Some(acc) => alg.add(&acc, &filtered),
                None => filtered,
            });
        }
    }

    let mut result = Vec::with_capacity(slots.len());
    for slot in slots {
        result.push(match slot {
            Some(value) => value,
            None => alg.zero(),
        });
    }
    Ok(result)
}

//! `CosetInterpolationGate`: the value at a point of the polynomial interpolating
//! values on a coset of a two-adic subgroup (the FRI folding step), by the
//! barycentric formula, split into chunks of `degree - 1` points with the partial
//! results stored in wires to bound the constraints' degree.

use plonky2::field::types::Field;
use plonky2::gates::coset_interpolation::CosetInterpolationGate;

use super::{alg_add, alg_mul, alg_scalar_mul, alg_scale, alg_sub, Alg, EvalError, GateVars, D};
use crate::algebra::{Algebra, Gl};
use crate::poseidon_goldilocks::embed;

/// The largest subgroup this verifier interpolates over (plonky2's FRI arities are at
/// most `2^8`; Goldilocks' two-adicity is 32).
const MAX_SUBGROUP_BITS: usize = 16;

/// The evaluation and the running product of the barycentric formula so far; `None`
/// before the first point (evaluation `0`, product `1`).
type Partial<A> = Option<(Alg<A>, Alg<A>)>;

/// Extends a partial barycentric evaluation at `x` by the points `domain` with the
/// given values and weights (plonky2's `partial_interpolate_ext_algebra`):
/// `eval ← eval · (x - x_i) + w_i · v_i · prod`, `prod ← prod · (x - x_i)`.
fn partial_interpolate<A: Algebra>(
    alg: &mut A,
    domain: &[Gl],
    values: &[Alg<A>],
    weights: &[Gl],
    x: &Alg<A>,
    partial: Partial<A>,
) -> Partial<A> {
    let mut partial = partial;
    for ((point, value), weight) in domain.iter().zip(values).zip(weights) {
        let weighted = alg_scale(alg, value, *weight);
        let term = [alg.add_constant(&x[0], -embed(*point)), x[1].clone()];
        partial = Some(match partial {
            // From evaluation 0 and product 1.
            None => (weighted, term),
            Some((eval, prod)) => {
                let eval_term = alg_mul(alg, &eval, &term);
                let value_prod = alg_mul(alg, &weighted, &prod);
                let next_eval = alg_add(alg, &eval_term, &value_prod);
                let next_prod = alg_mul(alg, &prod, &term);
                (next_eval, next_prod)
            }
        });
    }
    partial
}

/// `CosetInterpolationGate`. Wires: the coset shift (0), the values (two wires each,
/// from 1), the evaluation point, the evaluation value, the intermediate evaluations
/// and products, and the shifted evaluation point `point / shift`.
pub(super) fn coset_interpolation<A: Algebra>(
    alg: &mut A,
    gate: &CosetInterpolationGate<Gl, D>,
    vars: GateVars<'_, A>,
) -> Result<Vec<A::Ext>, EvalError> {
    if gate.subgroup_bits == 0 || gate.subgroup_bits > MAX_SUBGROUP_BITS {
        return Err(EvalError::Malformed("unsupported subgroup size"));
    }
    let num_points = 1usize << gate.subgroup_bits;
    let degree = gate.degree;
    if degree < 2 || degree > num_points {
        return Err(EvalError::Malformed("degree out of range"));
    }
    let weights = &gate.barycentric_weights;
    if weights.len() != num_points {
        return Err(EvalError::Malformed("one barycentric weight per point"));
    }
    let num_intermediates = (num_points - 2) / (degree - 1);

    let start_values = 1;
    let evaluation_point = start_values + D * num_points;
    let evaluation_value = evaluation_point + D;
    let start_intermediates = evaluation_value + D;
    let shifted_point_wire = start_intermediates + 2 * D * num_intermediates;
    vars.require_wires(Some(shifted_point_wire + D))?;

    let mut constraints = Vec::with_capacity(2 * D + 2 * D * num_intermediates);
    let shift = vars.wire(0)?;
    let point = vars.wire_alg(evaluation_point)?;
    let shifted_point = vars.wire_alg(shifted_point_wire)?;
    let unshifted = alg_scalar_mul(alg, &shifted_point, &shift);
    constraints.extend(alg_sub(alg, &point, &unshifted));

    let domain = Gl::two_adic_subgroup(gate.subgroup_bits);
    let values =
        (0..num_points).map(|i| vars.wire_alg(start_values + D * i)).collect::<Result<Vec<_>, _>>()?;

    let (Some(first_domain), Some(first_values), Some(first_weights)) =
        (domain.get(..degree), values.get(..degree), weights.get(..degree))
    else {
        return Err(EvalError::Malformed("interpolation chunk out of range"));
    };
    let mut partial =
        partial_interpolate(alg, first_domain, first_values, first_weights, &shifted_point, None);
    for i in 0..num_intermediates {
        let (computed_eval, computed_prod) =
            partial.ok_or(EvalError::Malformed("empty interpolation chunk"))?;
        let intermediate_eval = vars.wire_alg(start_intermediates + D * i)?;
        let intermediate_prod = vars.wire_alg(start_intermediates + D * (num_intermediates + i))?;
        constraints.extend(alg_sub(alg, &intermediate_eval, &computed_eval));
        constraints.extend(alg_sub(alg, &intermediate_prod, &computed_prod));

        // `start < num_points` since `(degree - 1) · num_intermediates ≤ num_points - 2`.
        let start = 1 + (degree - 1) * (i + 1);
        let end = (start + degree - 1).min(num_points);
        let chunk = start..end;
        let (Some(chunk_domain), Some(chunk_values), Some(chunk_weights)) =
            (domain.get(chunk.clone()), values.get(chunk.clone()), weights.get(chunk))
        else {
            return Err(EvalError::Malformed("interpolation chunk out of range"));
        };
        partial = partial_interpolate(
            alg,
            chunk_domain,
            chunk_values,
            chunk_weights,
            &shifted_point,
            Some((intermediate_eval, intermediate_prod)),
        );
    }

    let (computed_eval, _) = partial.ok_or(EvalError::Malformed("empty interpolation chunk"))?;
    let evaluation = vars.wire_alg(evaluation_value)?;
    constraints.extend(alg_sub(alg, &evaluation, &computed_eval));
    Ok(constraints)
}

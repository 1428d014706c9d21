//! `PoseidonGate` and `PoseidonMdsGate`, on the layers of
//! [`crate::poseidon_goldilocks`] run in the extension.

use plonky2::field::types::Field;
use plonky2::hash::poseidon::{HALF_N_FULL_ROUNDS, N_PARTIAL_ROUNDS};

use super::{EvalError, GateVars, D};
use crate::algebra::{Algebra, Gl, GlExt};
use crate::poseidon_goldilocks::{
    constant_layer, mds_layer, mds_partial_layer_fast, mds_partial_layer_init, partial_first_constant_layer,
    partial_round_constants, sbox, sbox_layer, ExtLane, Lane, State, WIDTH,
};

/// The swap flag's wire.
const WIRE_SWAP: usize = 2 * WIDTH;
/// The first of the four `swap · (input[i + 4] - input[i])` wires.
const START_DELTA: usize = WIRE_SWAP + 1;
/// The S-box inputs of rounds 1..4 of the first full rounds.
const START_FULL_0: usize = START_DELTA + 4;
/// The S-box inputs of the partial rounds.
const START_PARTIAL: usize = START_FULL_0 + WIDTH * (HALF_N_FULL_ROUNDS - 1);
/// The S-box inputs of the second full rounds.
const START_FULL_1: usize = START_PARTIAL + N_PARTIAL_ROUNDS;
/// The gate's wire count.
const NUM_WIRES: usize = START_FULL_1 + WIDTH * HALF_N_FULL_ROUNDS;

/// `PoseidonGate`: the permutation of the inputs (wires `0..12`, the first four
/// swapped with the next four when the swap wire is 1) is the outputs (wires
/// `12..24`), with the S-box inputs of all rounds but the first in wires. The partial
/// rounds are plonky2's fast form, whose S-box inputs are what the wires hold.
pub(super) fn poseidon<A: Algebra>(alg: &mut A, vars: GateVars<'_, A>) -> Result<Vec<A::Ext>, EvalError> {
    vars.require_wires(Some(NUM_WIRES))?;
    let mut constraints = Vec::with_capacity(1 + 4 + WIDTH * (2 * HALF_N_FULL_ROUNDS) + N_PARTIAL_ROUNDS);

    let swap = vars.wire(WIRE_SWAP)?;
    let swap_minus_one = alg.add_constant(&swap, -GlExt::ONE);
    constraints.push(alg.mul(&swap, &swap_minus_one));

    let inputs = (0..WIDTH).map(|i| vars.wire(i)).collect::<Result<Vec<_>, _>>()?;
    let mut state: State<A::Ext> = core::array::from_fn(|i| inputs[i].clone());
    for i in 0..4 {
        let delta = vars.wire(START_DELTA + i)?;
        let difference = alg.sub(&inputs[i + 4], &inputs[i]);
        let swapped = alg.mul(&swap, &difference);
        constraints.push(alg.sub(&swapped, &delta));
        state[i] = alg.add(&inputs[i], &delta);
        state[i + 4] = alg.sub(&inputs[i + 4], &delta);
    }

    let mut round = 0;
    for r in 0..HALF_N_FULL_ROUNDS {
        constant_layer::<A, ExtLane>(alg, &mut state, round);
        if r != 0 {
            for (i, value) in state.iter_mut().enumerate() {
                let sbox_in = vars.wire(START_FULL_0 + WIDTH * (r - 1) + i)?;
                constraints.push(alg.sub(value, &sbox_in));
                *value = sbox_in;
            }
        }
        sbox_layer::<A, ExtLane>(alg, &mut state);
        state = mds_layer::<A, ExtLane>(alg, &state);
        round += 1;
    }

    partial_first_constant_layer::<A, ExtLane>(alg, &mut state);
    state = mds_partial_layer_init::<A, ExtLane>(alg, &state);
    for (r, (c, w_hats, vs)) in partial_round_constants().enumerate() {
        let sbox_in = vars.wire(START_PARTIAL + r)?;
        constraints.push(alg.sub(&state[0], &sbox_in));
        state[0] = sbox::<A, ExtLane>(alg, &sbox_in);
        // plonky2's gate adds no constant after the last partial S-box (it is zero).
        if r + 1 < N_PARTIAL_ROUNDS {
            state[0] = ExtLane::add_constant(alg, &state[0], Gl::from_noncanonical_u64(c));
        }
        state = mds_partial_layer_fast::<A, ExtLane>(alg, &state, w_hats, vs);
    }
    round += N_PARTIAL_ROUNDS;

    for r in 0..HALF_N_FULL_ROUNDS {
        constant_layer::<A, ExtLane>(alg, &mut state, round);
        for (i, value) in state.iter_mut().enumerate() {
            let sbox_in = vars.wire(START_FULL_1 + WIDTH * r + i)?;
            constraints.push(alg.sub(value, &sbox_in));
            *value = sbox_in;
        }
        sbox_layer::<A, ExtLane>(alg, &mut state);
        state = mds_layer::<A, ExtLane>(alg, &state);
        round += 1;
    }

    for (i, value) in state.iter().enumerate() {
        let output = vars.wire(WIDTH + i)?;
        constraints.push(alg.sub(value, &output));
    }
    Ok(constraints)
}

/// `PoseidonMdsGate`: the MDS matrix applied to twelve elements of the algebra (inputs
/// on wires `2i, 2i + 1`, outputs from wire 24). The matrix has base-field constant
/// entries, so it acts on each coordinate separately.
pub(super) fn poseidon_mds<A: Algebra>(alg: &mut A, vars: GateVars<'_, A>) -> Result<Vec<A::Ext>, EvalError> {
    vars.require_wires(Some(2 * D * WIDTH))?;
    let inputs = (0..WIDTH).map(|i| vars.wire_alg(D * i)).collect::<Result<Vec<_>, _>>()?;
    let outputs = (0..WIDTH).map(|i| vars.wire_alg(D * (WIDTH + i))).collect::<Result<Vec<_>, _>>()?;
    let coordinates: [State<A::Ext>; D] =
        core::array::from_fn(|k| core::array::from_fn(|i| inputs[i][k].clone()));
    let computed = coordinates.map(|coordinate| mds_layer::<A, ExtLane>(alg, &coordinate));
    let mut constraints = Vec::with_capacity(D * WIDTH);
    for (i, output) in outputs.iter().enumerate() {
        for (k, out) in output.iter().enumerate() {
            constraints.push(alg.sub(out, &computed[k][i]));
        }
    }
    Ok(constraints)
}

//! The generic gate constraints and Goldilocks Poseidon against plonky2's own.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use ark_bls12_381::Fr;
use ark_relations::r1cs::ConstraintSystem;
use plonky2::field::interpolation::barycentric_weights;
use plonky2::field::polynomial::PolynomialValues;
use plonky2::field::types::{Field, Sample};
use plonky2::gates::arithmetic_base::ArithmeticGate;
use plonky2::gates::arithmetic_extension::ArithmeticExtensionGate;
use plonky2::gates::base_sum::BaseSumGate;
use plonky2::gates::constant::ConstantGate;
use plonky2::gates::coset_interpolation::CosetInterpolationGate;
use plonky2::gates::exponentiation::ExponentiationGate;
use plonky2::gates::gate::{Gate, GateRef};
use plonky2::gates::lookup::LookupGate;
use plonky2::gates::lookup_table::LookupTableGate;
use plonky2::gates::multiplication_extension::MulExtensionGate;
use plonky2::gates::noop::NoopGate;
use plonky2::gates::poseidon::PoseidonGate;
use plonky2::gates::poseidon_mds::PoseidonMdsGate;
use plonky2::gates::public_input::PublicInputGate;
use plonky2::gates::random_access::RandomAccessGate;
use plonky2::gates::reducing::ReducingGate;
use plonky2::gates::reducing_extension::ReducingExtensionGate;
use plonky2::hash::hash_types::HashOut;
use plonky2::hash::poseidon::{Poseidon, PoseidonHash};
use plonky2::iop::generator::generate_partial_witness;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData, CommonCircuitData};
use plonky2::plonk::config::{Hasher, PoseidonGoldilocksConfig};
use plonky2::plonk::proof::ProofWithPublicInputs;
use plonky2::plonk::vars::EvaluationVars;
use plonky2::util::serialization::{Buffer, Read, Write};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rollup_wrap::algebra::{Algebra, Backend, Gl, GlExt, Native};
use rollup_wrap::gates::{eval_unfiltered, evaluate_gate_constraints, GateError, GateVars};
use rollup_wrap::poseidon_goldilocks::{hash_no_pad, permute};
use rollup_wrap::r1cs::R1cs;

type C = PoseidonGoldilocksConfig;
const D: usize = 2;

fn sample_ext(rng: &mut ChaCha8Rng, n: usize) -> Vec<GlExt> {
    (0..n).map(|_| GlExt::sample(rng)).collect()
}

fn sample_hash(rng: &mut ChaCha8Rng) -> HashOut<Gl> {
    HashOut { elements: core::array::from_fn(|_| Gl::sample(rng)) }
}

/// The generic evaluation with [`Native`] equals plonky2's `eval_unfiltered` on random
/// values, and has `num_constraints` constraints.
fn assert_matches_plonky2(gate: GateRef<Gl, D>, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..3 {
        let constants = sample_ext(&mut rng, gate.0.num_constants());
        let wires = sample_ext(&mut rng, gate.0.num_wires());
        let hash = sample_hash(&mut rng);
        let expected = gate.0.eval_unfiltered(EvaluationVars {
            local_constants: &constants,
            local_wires: &wires,
            public_inputs_hash: &hash,
        });
        let mut native = Native::new();
        let got = eval_unfiltered(
            &mut native,
            &gate,
            GateVars { local_constants: &constants, local_wires: &wires, public_inputs_hash: &hash.elements },
        )
        .unwrap();
        assert_eq!(got, expected, "{}", gate.0.id());
        assert_eq!(got.len(), gate.0.num_constraints(), "{}", gate.0.id());

        // The R1CS backend: the same values, and its constraints (the reductions
        // and products of the evaluation) hold.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut r1cs = R1cs::new(cs.clone());
        let constants: Vec<_> = constants.iter().map(|c| r1cs.witness_ext(*c)).collect();
        let wires: Vec<_> = wires.iter().map(|w| r1cs.witness_ext(*w)).collect();
        let hash: [_; 4] = core::array::from_fn(|i| r1cs.witness_base(hash.elements[i]));
        let got = eval_unfiltered(
            &mut r1cs,
            &gate,
            GateVars { local_constants: &constants, local_wires: &wires, public_inputs_hash: &hash },
        )
        .unwrap();
        let got: Vec<GlExt> = got.iter().map(|c| c.value().unwrap()).collect();
        assert_eq!(got, expected, "{} in R1CS", gate.0.id());
        assert_eq!(r1cs.failure(), None);
        assert!(cs.is_satisfied().unwrap(), "{} in R1CS", gate.0.id());
    }
}

/// `CosetInterpolationGate::with_max_degree` (crate-private in plonky2), through the
/// gate's public deserialisation.
fn coset_interpolation_with_max_degree(
    subgroup_bits: usize,
    max_degree: usize,
) -> CosetInterpolationGate<Gl, D> {
    let n_points = 1 << subgroup_bits;
    let n_intermediates = (n_points - 2) / (max_degree - 1);
    let degree = (n_points - 2) / (n_intermediates + 1) + 2;
    let points = Gl::two_adic_subgroup(subgroup_bits).into_iter().map(|x| (x, Gl::ZERO)).collect::<Vec<_>>();
    let weights = barycentric_weights(&points);
    let mut bytes = Vec::new();
    bytes.write_usize(subgroup_bits).unwrap();
    bytes.write_usize(degree).unwrap();
    bytes.write_usize(weights.len()).unwrap();
    bytes.write_field_vec(&weights).unwrap();
    let common = &fixture().outer.common;
    <CosetInterpolationGate<Gl, D> as Gate<Gl, D>>::deserialize(&mut Buffer::new(&bytes), common).unwrap()
}

#[test]
fn every_supported_gate_matches_plonky2_on_random_values() {
    let standard = CircuitConfig::standard_recursion_config();
    let wide = CircuitConfig { num_wires: 200, num_routed_wires: 120, num_constants: 4, ..standard.clone() };
    let mut gates: Vec<GateRef<Gl, D>> = vec![
        GateRef::new(ArithmeticGate::new_from_config(&standard)),
        GateRef::new(ArithmeticGate { num_ops: 3 }),
        GateRef::new(ArithmeticExtensionGate::<D>::new_from_config(&standard)),
        GateRef::new(ArithmeticExtensionGate::<D> { num_ops: 1 }),
        GateRef::new(MulExtensionGate::<D>::new_from_config(&standard)),
        GateRef::new(MulExtensionGate::<D> { num_ops: 2 }),
        GateRef::new(BaseSumGate::<2>::new_from_config::<Gl>(&standard)),
        GateRef::new(BaseSumGate::<2>::new(5)),
        GateRef::new(BaseSumGate::<3>::new(4)),
        GateRef::new(BaseSumGate::<4>::new(8)),
        GateRef::new(BaseSumGate::<7>::new(3)),
        GateRef::new(BaseSumGate::<16>::new(2)),
        GateRef::new(BaseSumGate::<2>::new(0)),
        GateRef::new(ConstantGate::new(standard.num_constants)),
        GateRef::new(ConstantGate::new(1)),
        GateRef::new(CosetInterpolationGate::<Gl, D>::new(2)),
        GateRef::new(CosetInterpolationGate::<Gl, D>::new(3)),
        GateRef::new(CosetInterpolationGate::<Gl, D>::new(4)),
        GateRef::new(ExponentiationGate::<Gl, D>::new_from_config(&standard)),
        GateRef::new(ExponentiationGate::<Gl, D>::new(1)),
        GateRef::new(ExponentiationGate::<Gl, D>::new(5)),
        GateRef::new(NoopGate),
        GateRef::new(PoseidonGate::<Gl, D>::new()),
        GateRef::new(PoseidonMdsGate::<Gl, D>::new()),
        GateRef::new(PublicInputGate),
        GateRef::new(ReducingGate::<D>::new(ReducingGate::<D>::max_coeffs_len(
            standard.num_wires,
            standard.num_routed_wires,
        ))),
        GateRef::new(ReducingGate::<D>::new(1)),
        GateRef::new(ReducingGate::<D>::new(5)),
        GateRef::new(ReducingExtensionGate::<D>::new(ReducingExtensionGate::<D>::max_coeffs_len(
            standard.num_wires,
            standard.num_routed_wires,
        ))),
        GateRef::new(ReducingExtensionGate::<D>::new(1)),
        GateRef::new(ReducingExtensionGate::<D>::new(3)),
    ];
    for bits in 1..=5 {
        gates.push(GateRef::new(RandomAccessGate::<Gl, D>::new_from_config(&standard, bits)));
        gates.push(GateRef::new(RandomAccessGate::<Gl, D>::new_from_config(&wide, bits)));
    }
    for (subgroup_bits, max_degree) in [(4, 8), (4, 6), (4, 2), (3, 4), (5, 8), (2, 3)] {
        gates.push(GateRef::new(coset_interpolation_with_max_degree(subgroup_bits, max_degree)));
    }
    for (i, gate) in gates.into_iter().enumerate() {
        assert_matches_plonky2(gate, 1000 + i as u64);
    }
}

#[test]
fn hash_no_pad_matches_plonky2() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for len in 0..=30 {
        let inputs: Vec<Gl> = (0..len).map(|_| Gl::sample(&mut rng)).collect();
        let expected = PoseidonHash::hash_no_pad(&inputs).elements;
        assert_eq!(hash_no_pad(&mut Native::new(), &inputs), expected, "length {len}");
    }
    // Overwrite mode: only the first `len` rate elements change between chunks, so the
    // hash of a prefix differs from the hash of the whole.
    let inputs: Vec<Gl> = (0..9).map(|_| Gl::sample(&mut rng)).collect();
    assert_ne!(hash_no_pad(&mut Native::new(), &inputs), hash_no_pad(&mut Native::new(), &inputs[..8]));
}

/// The permutation in R1CS on witnessed inputs: plonky2's output; checked against
/// a claimed output, the right one holds and a wrong one does not; a seeded sample
/// of the permutation's own witnesses, each tampered, is refused.
#[test]
fn permute_in_r1cs_matches_plonky2_and_refuses_tampering() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut states: Vec<[Gl; 12]> = (0..3).map(|_| core::array::from_fn(|_| Gl::sample(&mut rng))).collect();
    states.push([Gl::ZERO; 12]);
    states.push([Gl::NEG_ONE; 12]);
    for state in states {
        let expected = <Gl as Poseidon>::poseidon(state);
        for wrong in [None, Some(rng.gen_range(0..12))] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let mut r1cs = R1cs::new(cs.clone());
            let inputs: [_; 12] = core::array::from_fn(|i| r1cs.witness_base(state[i]));
            let start = cs.num_witness_variables();
            let output = permute(&mut r1cs, &inputs);
            let end = cs.num_witness_variables();
            assert_eq!(output.clone().map(|v| v.value().unwrap()), expected);
            for (i, (value, expected)) in output.iter().zip(expected).enumerate() {
                let claimed = if wrong == Some(i) { expected + Gl::ONE } else { expected };
                let claimed = r1cs.witness_base(claimed);
                r1cs.base_assert_equal(value, &claimed, "permutation output");
            }
            if wrong.is_some() {
                assert_eq!(r1cs.failure(), Some("permutation output"));
                assert!(!cs.is_satisfied().unwrap());
                continue;
            }
            assert_eq!(r1cs.failure(), None);
            assert!(cs.is_satisfied().unwrap());
            for _ in 0..40 {
                let index = rng.gen_range(start..end);
                let original = cs.borrow().unwrap().witness_assignment[index];
                cs.borrow_mut().unwrap().witness_assignment[index] = original + Fr::from(1u64);
                assert!(!cs.is_satisfied().unwrap(), "tampering with witness {index} went unnoticed");
                cs.borrow_mut().unwrap().witness_assignment[index] = original;
            }
        }
    }
}

/// `hash_no_pad` in R1CS is plonky2's, for every length up to three chunks.
#[test]
fn hash_no_pad_in_r1cs_matches_plonky2() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    for len in [0, 1, 4, 8, 9, 12, 16, 17] {
        let inputs: Vec<Gl> = (0..len).map(|_| Gl::sample(&mut rng)).collect();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut r1cs = R1cs::new(cs.clone());
        let vars: Vec<_> = inputs.iter().map(|v| r1cs.witness_base(*v)).collect();
        let digest = hash_no_pad(&mut r1cs, &vars).map(|v| v.value().unwrap());
        assert_eq!(digest, PoseidonHash::hash_no_pad(&inputs).elements, "length {len}");
        assert_eq!(r1cs.failure(), None);
        assert!(cs.is_satisfied().unwrap(), "length {len}");
    }
}

#[test]
fn permute_matches_plonky2() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut states: Vec<[Gl; 12]> = (0..20).map(|_| core::array::from_fn(|_| Gl::sample(&mut rng))).collect();
    states.push([Gl::ZERO; 12]);
    states.push([Gl::NEG_ONE; 12]);
    for state in states {
        assert_eq!(permute(&mut Native::new(), &state), <Gl as Poseidon>::poseidon(state));
    }
}

/// An inner proof and an outer circuit verifying it, with a proof of the outer circuit.
struct Fixture {
    outer: CircuitData<Gl, C, D>,
    outer_proof: ProofWithPublicInputs<Gl, C, D>,
    outer_witness: PartialWitness<Gl>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let config = CircuitConfig::standard_recursion_config();

        let mut builder = CircuitBuilder::<Gl, D>::new(config.clone());
        let x = builder.add_virtual_target();
        let y = builder.add_virtual_target();
        let xy = builder.mul(x, y);
        let z = builder.add(xy, x);
        let bits = builder.split_le(z, 64);
        let low = builder.le_sum(bits[..32].iter());
        builder.register_public_input(x);
        builder.register_public_input(low);
        // Enough rows (2^10) for FRI to fold, so that the outer circuit interpolates
        // cosets like a production recursive verifier.
        for _ in 0..1000 {
            builder.add_gate(NoopGate, vec![]);
        }
        let inner = builder.build::<C>();
        let mut pw = PartialWitness::new();
        pw.set_target(x, Gl::from_canonical_u64(3)).unwrap();
        pw.set_target(y, Gl::from_canonical_u64(5)).unwrap();
        let inner_proof = inner.prove(pw).unwrap();
        inner.verify(inner_proof.clone()).unwrap();

        let mut builder = CircuitBuilder::<Gl, D>::new(config);
        let proof_target = builder.add_virtual_proof_with_pis(&inner.common);
        let verifier_target = builder.add_virtual_verifier_data(inner.common.config.fri_config.cap_height);
        builder.verify_proof::<C>(&proof_target, &verifier_target, &inner.common);
        builder.register_public_inputs(&proof_target.public_inputs);
        let outer = builder.build::<C>();
        let mut outer_witness = PartialWitness::new();
        outer_witness.set_proof_with_pis_target(&proof_target, &inner_proof).unwrap();
        outer_witness.set_verifier_data_target(&verifier_target, &inner.verifier_only).unwrap();
        let outer_proof = outer.prove(outer_witness.clone()).unwrap();
        outer.verify(outer_proof.clone()).unwrap();
        Fixture { outer, outer_proof, outer_witness }
    })
}

/// A gate's id, without the barycentric weights that `CosetInterpolationGate` lists.
fn short_id(gate: &GateRef<Gl, D>) -> String {
    let id = gate.0.id();
    match id.find(", barycentric_weights") {
        Some(end) => format!("{} }}", &id[..end]),
        None => id,
    }
}

/// plonky2's `SelectorsInfo` (crate-private fields) through its serialisation.
fn selectors(common: &CommonCircuitData<Gl, D>) -> (Vec<usize>, Vec<Range<usize>>) {
    let mut bytes = Vec::new();
    bytes.write_selectors_info(&common.selectors_info).unwrap();
    let mut buffer = Buffer::new(&bytes);
    let indices = buffer.read_usize_vec().unwrap();
    let groups = (0..buffer.read_usize().unwrap())
        .map(|_| buffer.read_usize().unwrap()..buffer.read_usize().unwrap())
        .collect();
    (indices, groups)
}

/// plonky2's `vanishing_poly::evaluate_gate_constraints` (crate-private), from the
/// gates' public `eval_filtered`.
fn plonky2_gate_constraints(
    common: &CommonCircuitData<Gl, D>,
    constants: &[GlExt],
    wires: &[GlExt],
    hash: &HashOut<Gl>,
) -> Vec<GlExt> {
    let (indices, groups) = selectors(common);
    let vars = EvaluationVars { local_constants: constants, local_wires: wires, public_inputs_hash: hash };
    let mut constraints = vec![GlExt::ZERO; common.num_gate_constraints];
    for (row, gate) in common.gates.iter().enumerate() {
        let selector = indices[row];
        let filtered = gate.0.eval_filtered(
            vars,
            row,
            selector,
            groups[selector].clone(),
            groups.len(),
            common.num_lookup_selectors,
        );
        for (slot, c) in constraints.iter_mut().zip(filtered) {
            *slot += c;
        }
    }
    constraints
}

fn ours(
    common: &CommonCircuitData<Gl, D>,
    constants: &[GlExt],
    wires: &[GlExt],
    hash: &HashOut<Gl>,
) -> Vec<GlExt> {
    let mut native = Native::new();
    let result = evaluate_gate_constraints(&mut native, common, constants, wires, &hash.elements).unwrap();
    assert_eq!(native.failure(), None);
    result
}

#[test]
fn recursive_circuit_constraints_match_plonky2_on_random_values() {
    let common = &fixture().outer.common;
    println!("gates of the recursive circuit ({} rows):", common.degree());
    for (gate, selector) in common.gates.iter().zip(selectors(common).0) {
        println!("  selector {selector}: {}", short_id(gate));
    }
    let names: Vec<String> = common.gates.iter().map(|g| g.0.id()).collect();
    for expected in [
        "ArithmeticGate",
        "ArithmeticExtensionGate",
        "MulExtensionGate",
        "BaseSumGate",
        "ConstantGate",
        "CosetInterpolationGate",
        "NoopGate",
        "PoseidonGate",
        "PoseidonMdsGate",
        "PublicInputGate",
        "RandomAccessGate",
        "ReducingGate",
        "ReducingExtensionGate",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(&format!("{expected} "))
                || n.starts_with(&format!("{expected}("))
                || n == expected),
            "{expected} is not used"
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for _ in 0..5 {
        let constants = sample_ext(&mut rng, common.num_constants);
        let wires = sample_ext(&mut rng, common.config.num_wires);
        let hash = sample_hash(&mut rng);
        let expected = plonky2_gate_constraints(common, &constants, &wires, &hash);
        assert_eq!(ours(common, &constants, &wires, &hash), expected);
        assert!(expected.iter().all(|c| *c != GlExt::ZERO));
    }
}

#[test]
fn recursive_circuit_constraints_match_plonky2_at_a_real_opening() {
    let fixture = fixture();
    let common = &fixture.outer.common;
    let proof = &fixture.outer_proof;
    let openings = &proof.proof.openings;
    let hash = proof.get_public_inputs_hash();
    let expected = plonky2_gate_constraints(common, &openings.constants, &openings.wires, &hash);
    assert_eq!(ours(common, &openings.constants, &openings.wires, &hash), expected);

    // A different public-inputs hash changes exactly the public-input constraints.
    let mut other = hash;
    other.elements[0] += Gl::ONE;
    let tampered = ours(common, &openings.constants, &openings.wires, &other);
    assert_eq!(tampered, plonky2_gate_constraints(common, &openings.constants, &openings.wires, &other));
    assert_ne!(tampered, expected);
}

/// Each row of the recursive circuit's witness: the constants and wires of that row.
fn witness_rows(fixture: &Fixture) -> (Vec<Vec<GlExt>>, Vec<Vec<GlExt>>) {
    let data = &fixture.outer;
    let common = &data.common;
    let witness = generate_partial_witness(fixture.outer_witness.clone(), &data.prover_only, common)
        .unwrap()
        .full_witness();
    let n = common.degree();
    let constant_values: Vec<PolynomialValues<Gl>> = data.prover_only.constants_sigmas_commitment.polynomials
        [..common.num_constants]
        .iter()
        .map(|p| p.clone().fft())
        .collect();
    let constants =
        (0..n).map(|row| constant_values.iter().map(|v| GlExt::from(v.values[row])).collect()).collect();
    let wires = (0..n)
        .map(|row| (0..common.config.num_wires).map(|w| witness.get_wire(row, w).into()).collect())
        .collect();
    (constants, wires)
}

#[test]
fn honest_rows_vanish_and_tampered_rows_do_not() {
    let fixture = fixture();
    let common = &fixture.outer.common;
    let hash = fixture.outer_proof.get_public_inputs_hash();
    let (constants, wires) = witness_rows(fixture);
    let (indices, groups) = selectors(common);

    let mut tampered_kinds = std::collections::BTreeSet::new();
    for (row, (row_constants, row_wires)) in constants.iter().zip(&wires).enumerate() {
        let zero = vec![GlExt::ZERO; common.num_gate_constraints];
        assert_eq!(ours(common, row_constants, row_wires, &hash), zero, "row {row}");

        // The gate of this row: the one whose selector value is its index.
        let gate = common
            .gates
            .iter()
            .enumerate()
            .find(|(i, _)| row_constants[indices[*i]] == GlExt::from_canonical_usize(*i))
            .map(|(_, gate)| gate)
            .unwrap();
        let num_wires = gate.0.num_wires();
        if num_wires == 0 || !tampered_kinds.insert(gate.0.id()) {
            continue;
        }
        // Tampering any wire gives plonky2's value; tampering the gate's last wire (an
        // output, accumulator, bit or S-box input in every gate) is detected.
        for w in 0..num_wires {
            let mut tampered = row_wires.clone();
            tampered[w] += GlExt::ONE;
            let got = ours(common, row_constants, &tampered, &hash);
            assert_eq!(got, plonky2_gate_constraints(common, row_constants, &tampered, &hash));
            if w == num_wires - 1 {
                assert_ne!(got, zero, "tampering wire {w} of {} is not detected", gate.0.id());
            }
        }
    }
    assert!(groups.len() > 1);
    println!("tampered the rows of {} gate types", tampered_kinds.len());
    assert_eq!(tampered_kinds.len(), common.gates.len() - 1);
}

#[test]
fn unsupported_gates_are_errors() {
    let fixture = fixture();
    let mut common = fixture.outer.common.clone();
    let replaced = common.gates.iter().position(|g| g.0.id() == "NoopGate").unwrap();
    let custom = GateRef::new(rollup_circuits::ecgfp5::gates::ByteSplitGate);
    let id = custom.0.id();
    common.gates[replaced] = custom;
    let openings = &fixture.outer_proof.proof.openings;
    let result = evaluate_gate_constraints(
        &mut Native::new(),
        &common,
        &openings.constants,
        &openings.wires,
        &[Gl::ZERO; 4],
    );
    assert_eq!(result, Err(GateError::UnsupportedGate { id }));

    let config = CircuitConfig::standard_recursion_config();
    let table: Arc<Vec<(u16, u16)>> = Arc::new((0..8).map(|i| (i, i * i)).collect());
    let wires = vec![GlExt::ONE; config.num_wires];
    let vars =
        GateVars::<Native> { local_constants: &[], local_wires: &wires, public_inputs_hash: &[Gl::ZERO; 4] };
    for gate in [
        GateRef::new(LookupGate::new_from_table(&config, table.clone())),
        GateRef::new(LookupTableGate::new_from_table(&config, table, 0)),
        GateRef::new(BaseSumGate::<17>::new(3)),
    ] {
        let id = gate.0.id();
        assert_eq!(eval_unfiltered(&mut Native::new(), &gate, vars), Err(GateError::UnsupportedGate { id }));
    }
}

#[test]
fn malformed_inputs_are_errors() {
    let fixture = fixture();
    let common = &fixture.outer.common;
    let openings = &fixture.outer_proof.proof.openings;
    let hash = [Gl::ZERO; 4];
    let mut native = Native::new();

    let short = &openings.wires[..openings.wires.len() - 1];
    assert_eq!(
        evaluate_gate_constraints(&mut native, common, &openings.constants, short, &hash),
        Err(GateError::OpeningShape { what: "wires", expected: openings.wires.len(), got: short.len() })
    );
    let mut long = openings.constants.clone();
    long.push(GlExt::ONE);
    assert_eq!(
        evaluate_gate_constraints(&mut native, common, &long, &openings.wires, &hash),
        Err(GateError::OpeningShape { what: "constants", expected: long.len() - 1, got: long.len() })
    );

    // Too few wires or constants for a gate.
    let poseidon = GateRef::new(PoseidonGate::<Gl, D>::new());
    let wires = vec![GlExt::ONE; 100];
    let vars = GateVars::<Native> { local_constants: &[], local_wires: &wires, public_inputs_hash: &hash };
    assert!(matches!(
        eval_unfiltered(&mut native, &poseidon, vars),
        Err(GateError::MissingValue { what: "wire", available: 100, .. })
    ));
    let arithmetic = GateRef::new(ArithmeticGate { num_ops: 2 });
    let constants = vec![GlExt::ONE];
    let vars =
        GateVars::<Native> { local_constants: &constants, local_wires: &wires, public_inputs_hash: &hash };
    assert!(matches!(
        eval_unfiltered(&mut native, &arithmetic, vars),
        Err(GateError::MissingValue { what: "constant", index: 1, available: 1, .. })
    ));

    // Parameters plonky2 would not produce.
    let config = CircuitConfig::standard_recursion_config();
    let wires = vec![GlExt::ONE; config.num_wires];
    let vars = GateVars::<Native> { local_constants: &[], local_wires: &wires, public_inputs_hash: &hash };
    let mut random_access = RandomAccessGate::<Gl, D>::new_from_config(&config, 3);
    random_access.bits = 64;
    let mut no_degree = CosetInterpolationGate::<Gl, D>::new(3);
    no_degree.degree = 1;
    let mut few_weights = CosetInterpolationGate::<Gl, D>::new(3);
    few_weights.barycentric_weights.pop();
    for gate in [
        GateRef::new(random_access),
        GateRef::new(no_degree),
        GateRef::new(few_weights),
        GateRef::new(ExponentiationGate::<Gl, D>::new(0)),
    ] {
        let result = eval_unfiltered(&mut native, &gate, vars);
        assert!(matches!(result, Err(GateError::MalformedGate { .. })), "{}: {result:?}", gate.0.id());
    }
}

/// [`Native`], counting products of two variables (`mul`, `mul_base`, `base_mul`,
/// `div`): what costs constraints in R1CS.
#[derive(Default)]
struct Counting {
    inner: Native,
    products: usize,
}

impl Algebra for Counting {
    type Base = Gl;
    type Ext = GlExt;
    fn base_constant(&mut self, value: Gl) -> Gl {
        self.inner.base_constant(value)
    }
    fn base_add(&mut self, a: &Gl, b: &Gl) -> Gl {
        self.inner.base_add(a, b)
    }
    fn base_sub(&mut self, a: &Gl, b: &Gl) -> Gl {
        self.inner.base_sub(a, b)
    }
    fn base_mul(&mut self, a: &Gl, b: &Gl) -> Gl {
        self.products += 1;
        self.inner.base_mul(a, b)
    }
    fn base_scale(&mut self, a: &Gl, c: Gl) -> Gl {
        self.inner.base_scale(a, c)
    }
    fn base_assert_equal(&mut self, a: &Gl, b: &Gl, what: &'static str) {
        self.inner.base_assert_equal(a, b, what)
    }
    fn ext_constant(&mut self, value: GlExt) -> GlExt {
        self.inner.ext_constant(value)
    }
    fn ext_from_parts(&mut self, a0: &Gl, a1: &Gl) -> GlExt {
        self.inner.ext_from_parts(a0, a1)
    }
    fn ext_parts(&mut self, a: &GlExt) -> [Gl; 2] {
        self.inner.ext_parts(a)
    }
    fn add(&mut self, a: &GlExt, b: &GlExt) -> GlExt {
        self.inner.add(a, b)
    }
    fn sub(&mut self, a: &GlExt, b: &GlExt) -> GlExt {
        self.inner.sub(a, b)
    }
    fn mul(&mut self, a: &GlExt, b: &GlExt) -> GlExt {
        self.products += 1;
        self.inner.mul(a, b)
    }
    fn mul_base(&mut self, a: &GlExt, b: &Gl) -> GlExt {
        self.products += 1;
        self.inner.mul_base(a, b)
    }
    fn scale(&mut self, a: &GlExt, c: GlExt) -> GlExt {
        self.inner.scale(a, c)
    }
    fn div(&mut self, a: &GlExt, b: &GlExt, what: &'static str) -> GlExt {
        self.products += 1;
        self.inner.div(a, b, what)
    }
    fn assert_equal(&mut self, a: &GlExt, b: &GlExt, what: &'static str) {
        self.inner.assert_equal(a, b, what)
    }
}

/// The products each gate evaluation should take.
fn expected_products(gate: &GateRef<Gl, D>) -> usize {
    let any = gate.0.as_any();
    if let Some(g) = any.downcast_ref::<ArithmeticGate>() {
        3 * g.num_ops
    } else if let Some(g) = any.downcast_ref::<ArithmeticExtensionGate<D>>() {
        // Karatsuba (3) and two products by the constants (2 + 2).
        7 * g.num_ops
    } else if let Some(g) = any.downcast_ref::<MulExtensionGate<D>>() {
        5 * g.num_ops
    } else if let Some(g) = any.downcast_ref::<BaseSumGate<2>>() {
        g.num_limbs
    } else if let Some(g) = any.downcast_ref::<ExponentiationGate<Gl, D>>() {
        3 * g.num_power_bits - 2
    } else if let Some(g) = any.downcast_ref::<RandomAccessGate<Gl, D>>() {
        g.num_copies * (g.bits + (1 << g.bits) - 1)
    } else if let Some(g) = any.downcast_ref::<ReducingGate<D>>() {
        3 * g.num_coeffs
    } else if let Some(g) = any.downcast_ref::<ReducingExtensionGate<D>>() {
        3 * g.num_coeffs
    } else if let Some(g) = any.downcast_ref::<CosetInterpolationGate<Gl, D>>() {
        // The shift (2), then three algebra products (9) per point after the first.
        2 + 9 * ((1 << g.subgroup_bits) - 1)
    } else if any.is::<PoseidonGate<Gl, D>>() {
        // Swap and deltas (5), four products per S-box: 8 · 12 full and 22 partial.
        5 + 4 * (8 * 12 + 22)
    } else {
        // Constant, noop, public-input and MDS gates are linear.
        0
    }
}

#[test]
fn products_per_gate_of_the_recursive_circuit() {
    let common = &fixture().outer.common;
    let (indices, groups) = selectors(common);
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let constants = sample_ext(&mut rng, common.num_constants);
    let wires = sample_ext(&mut rng, common.config.num_wires);
    let hash = sample_hash(&mut rng);
    let prefix = groups.len() + common.num_lookup_selectors;

    println!("{:>8} {:>8} {:>12}  gate", "products", "filter", "constraints");
    let mut expected_total = 0;
    for (row, gate) in common.gates.iter().enumerate() {
        let mut counting = Counting::default();
        let vars = GateVars::<Counting> {
            local_constants: &constants[prefix..],
            local_wires: &wires,
            public_inputs_hash: &hash.elements,
        };
        let constraints = eval_unfiltered(&mut counting, gate, vars).unwrap();
        assert_eq!(counting.products, expected_products(gate), "{}", gate.0.id());
        // The filter: a product of `terms` factors, then one product per constraint.
        let group = &groups[indices[row]];
        let terms = group.len() - 1 + usize::from(groups.len() > 1);
        let filter = if terms == 0 { 0 } else { terms - 1 + constraints.len() };
        expected_total += counting.products + filter;
        println!("{:>8} {:>8} {:>12}  {}", counting.products, filter, constraints.len(), short_id(gate));
    }
    let mut counting = Counting::default();
    evaluate_gate_constraints(&mut counting, common, &constants, &wires, &hash.elements).unwrap();
    println!("total products: {} ({} gate constraints)", counting.products, common.num_gate_constraints);
    assert_eq!(counting.products, expected_total);

    let mut counting = Counting::default();
    let state: [Gl; 12] = core::array::from_fn(|_| Gl::sample(&mut rng));
    permute(&mut counting, &state);
    println!("Goldilocks Poseidon permutation: {} products", counting.products);
    assert_eq!(counting.products, 4 * (8 * 12 + 22));
}

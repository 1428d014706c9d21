//! A plonky2 verifier written once, generic over [`Backend`].
//!
//! It verifies proofs of one fixed circuit (its [`CommonCircuitData`] and
//! [`VerifierConstants`]) made with [`PoseidonBls12Config`]: the Fiat-Shamir
//! transcript, the vanishing polynomial at `zeta` (gate constraints, the
//! permutation argument with partial products, `L_0`), the quotient identity, and
//! FRI (Merkle openings against the caps, the initial combination, folding at every
//! reduction step, the final polynomial, proof of work). Everything follows
//! plonky2 1.1's own verifier step by step; the native run is held against it by
//! the tests, and the R1CS run emits exactly these checks as constraints.
//!
//! Lookups and zero-knowledge (salted leaves) are not supported: the wrapper
//! circuit uses neither, and [`ProofVars::allocate`] refuses a circuit that does.

use ark_bls12_381::Fr;
use ark_ff::PrimeField;
use plonky2::field::types::Field;
use plonky2::fri::reduction_strategies::FriReductionStrategy;
use plonky2::plonk::circuit_data::{CommonCircuitData, VerifierOnlyCircuitData};
use plonky2::plonk::config::{GenericConfig, GenericHashOut};
use plonky2::plonk::proof::ProofWithPublicInputs;

use crate::algebra::{Backend, Gl, GlExt};
use crate::poseidon::{sponge, PoseidonBls12Config};

/// The wrapper's plonky2 configuration.
pub type WrapConfig = PoseidonBls12Config;
/// A proof of the wrapper circuit.
pub type WrapProof = ProofWithPublicInputs<Gl, WrapConfig, 2>;

/// Why a proof cannot even be laid out for verification.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShapeError {
    /// The circuit uses a plonky2 feature this verifier does not implement.
    #[error("unsupported circuit: {0}")]
    Unsupported(&'static str),
    /// A part of the proof has the wrong size for the circuit.
    #[error("malformed proof: {what} has {found} elements, the circuit needs {expected}")]
    Size {
        /// The part of the proof.
        what: &'static str,
        /// Its size in the proof.
        found: usize,
        /// Its size for the circuit.
        expected: usize,
    },
}

/// The verifier-side constants of the circuit: its digest and its constants and
/// sigmas cap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierConstants {
    /// The circuit digest.
    pub circuit_digest: Fr,
    /// The Merkle cap of the constant and permutation polynomials.
    pub constants_sigmas_cap: Vec<Fr>,
}

impl VerifierConstants {
    /// The constants of a circuit built with [`WrapConfig`].
    pub fn new(verifier: &VerifierOnlyCircuitData<WrapConfig, 2>) -> Self {
        Self {
            circuit_digest: digest_to_fr(&verifier.circuit_digest),
            constants_sigmas_cap: verifier.constants_sigmas_cap.0.iter().map(digest_to_fr).collect(),
        }
    }
}

/// A digest of [`WrapConfig`]'s hasher as the scalar it is.
pub fn digest_to_fr<H: GenericHashOut<Gl>>(digest: &H) -> Fr {
    Fr::from_le_bytes_mod_order(&digest.to_bytes())
}

/// An opened Merkle leaf with its path's siblings.
pub type Opening<V, D> = (Vec<V>, Vec<D>);

/// One query round: the opened leaves of the four initial trees with their paths,
/// and each reduction step's coset with its path.
#[derive(Clone, Debug)]
pub struct QueryVars<B: Backend> {
    /// Per initial tree: the leaf (one value per polynomial) and the siblings.
    pub initial: Vec<Opening<B::Base, B::Fr>>,
    /// Per reduction step: the coset's evaluations and the siblings.
    pub steps: Vec<Opening<B::Ext, B::Fr>>,
}

/// A wrapper proof as values of a backend (witnesses in R1CS).
#[derive(Clone, Debug)]
pub struct ProofVars<B: Backend> {
    /// The public inputs.
    pub public_inputs: Vec<B::Base>,
    /// The caps of the wires, of Z and the partial products, and of the quotient.
    pub caps: [Vec<B::Fr>; 3],
    /// Openings at zeta: constants, sigmas, wires, Zs, partial products, quotient.
    pub constants: Vec<B::Ext>,
    /// Openings of the permutation polynomials at zeta.
    pub plonk_sigmas: Vec<B::Ext>,
    /// Openings of the wires at zeta.
    pub wires: Vec<B::Ext>,
    /// Openings of Z at zeta.
    pub plonk_zs: Vec<B::Ext>,
    /// Openings of Z at g·zeta.
    pub plonk_zs_next: Vec<B::Ext>,
    /// Openings of the partial products at zeta.
    pub partial_products: Vec<B::Ext>,
    /// Openings of the quotient chunks at zeta.
    pub quotient_polys: Vec<B::Ext>,
    /// The caps of FRI's commit phase.
    pub commit_phase_caps: Vec<Vec<B::Fr>>,
    /// The query rounds.
    pub queries: Vec<QueryVars<B>>,
    /// The final polynomial's coefficients.
    pub final_poly: Vec<B::Ext>,
    /// The proof-of-work witness.
    pub pow_witness: B::Base,
}

fn check_size(what: &'static str, found: usize, expected: usize) -> Result<(), ShapeError> {
    if found == expected {
        Ok(())
    } else {
        Err(ShapeError::Size { what, found, expected })
    }
}

/// Checks that the verifier supports the circuit.
pub fn check_supported(common: &CommonCircuitData<Gl, 2>) -> Result<(), ShapeError> {
    if common.num_lookup_polys != 0 || !common.luts.is_empty() {
        return Err(ShapeError::Unsupported("lookups"));
    }
    if common.fri_params.hiding || common.config.zero_knowledge {
        return Err(ShapeError::Unsupported("zero knowledge (salted Merkle leaves)"));
    }
    if common.quotient_degree_factor < 2 {
        return Err(ShapeError::Unsupported("a quotient degree factor below 2"));
    }
    Ok(())
}

/// The sizes of a proof of the circuit.
struct Shape {
    caps: usize,
    oracles: [usize; 4],
    degree_bits: usize,
    lde_bits: usize,
    cap_height: usize,
    arity_bits: Vec<usize>,
    final_poly_len: usize,
    queries: usize,
}

impl Shape {
    fn of(common: &CommonCircuitData<Gl, 2>) -> Self {
        let config = &common.config;
        let fri = &common.fri_params;
        let challenges = config.num_challenges;
        Self {
            caps: 1 << fri.config.cap_height,
            oracles: [
                common.num_constants + config.num_routed_wires,
                config.num_wires,
                challenges * (1 + common.num_partial_products),
                challenges * common.quotient_degree_factor,
            ],
            degree_bits: fri.degree_bits,
            lde_bits: fri.degree_bits + fri.config.rate_bits,
            cap_height: fri.config.cap_height,
            arity_bits: fri.reduction_arity_bits.clone(),
            final_poly_len: fri.final_poly_len(),
            queries: fri.config.num_query_rounds,
        }
    }
}

impl<B: Backend> ProofVars<B> {
    /// Lays a proof of the circuit out as values of `b`, after checking every size.
    pub fn allocate(
        b: &mut B,
        common: &CommonCircuitData<Gl, 2>,
        proof: &WrapProof,
    ) -> Result<Self, ShapeError> {
        check_supported(common)?;
        let shape = Shape::of(common);
        let config = &common.config;
        let challenges = config.num_challenges;
        let p = &proof.proof;
        let o = &p.openings;
        check_size("public inputs", proof.public_inputs.len(), common.num_public_inputs)?;
        for (what, cap) in [
            ("wires cap", &p.wires_cap),
            ("Z and partial products cap", &p.plonk_zs_partial_products_cap),
            ("quotient cap", &p.quotient_polys_cap),
        ] {
            check_size(what, cap.0.len(), shape.caps)?;
        }
        check_size("constant openings", o.constants.len(), common.num_constants)?;
        check_size("sigma openings", o.plonk_sigmas.len(), config.num_routed_wires)?;
        check_size("wire openings", o.wires.len(), config.num_wires)?;
        check_size("Z openings", o.plonk_zs.len(), challenges)?;
        check_size("next Z openings", o.plonk_zs_next.len(), challenges)?;
        check_size(
            "partial product openings",
            o.partial_products.len(),
            challenges * common.num_partial_products,
        )?;
        check_size("quotient openings", o.quotient_polys.len(), shape.oracles[3])?;
        check_size("lookup openings", o.lookup_zs.len() + o.lookup_zs_next.len(), 0)?;
        let fri = &p.opening_proof;
        check_size("commit phase caps", fri.commit_phase_merkle_caps.len(), shape.arity_bits.len())?;
        for cap in &fri.commit_phase_merkle_caps {
            check_size("commit phase cap", cap.0.len(), shape.caps)?;
        }
        check_size("query rounds", fri.query_round_proofs.len(), shape.queries)?;
        check_size("final polynomial", fri.final_poly.coeffs.len(), shape.final_poly_len)?;

        let mut queries = Vec::with_capacity(shape.queries);
        for round in &fri.query_round_proofs {
            let initial = &round.initial_trees_proof.evals_proofs;
            check_size("initial trees", initial.len(), 4)?;
            let mut initial_vars = Vec::with_capacity(4);
            for ((leaf, path), &width) in initial.iter().zip(&shape.oracles) {
                check_size("initial leaf", leaf.len(), width)?;
                check_size("initial path", path.siblings.len(), shape.lde_bits - shape.cap_height)?;
                initial_vars.push((
                    leaf.iter().map(|v| b.witness_base(*v)).collect(),
                    path.siblings.iter().map(|s| b.witness_fr(digest_to_fr(s))).collect(),
                ));
            }
            check_size("reduction steps", round.steps.len(), shape.arity_bits.len())?;
            let mut steps = Vec::with_capacity(round.steps.len());
            let mut bits = shape.lde_bits;
            for (step, &arity_bits) in round.steps.iter().zip(&shape.arity_bits) {
                bits -= arity_bits;
                check_size("coset", step.evals.len(), 1 << arity_bits)?;
                check_size("step path", step.merkle_proof.siblings.len(), bits - shape.cap_height)?;
                steps.push((
                    step.evals.iter().map(|v| b.witness_ext(*v)).collect(),
                    step.merkle_proof.siblings.iter().map(|s| b.witness_fr(digest_to_fr(s))).collect(),
                ));
            }
            queries.push(QueryVars { initial: initial_vars, steps });
        }

        let ext = |b: &mut B, values: &[GlExt]| values.iter().map(|v| b.witness_ext(*v)).collect::<Vec<_>>();
        let cap = |b: &mut B, cap: &[<<WrapConfig as GenericConfig<2>>::Hasher as plonky2::plonk::config::Hasher<Gl>>::Hash]| {
            cap.iter().map(|d| b.witness_fr(digest_to_fr(d))).collect::<Vec<_>>()
        };
        Ok(Self {
            public_inputs: proof.public_inputs.iter().map(|v| b.witness_base(*v)).collect(),
            caps: [
                cap(b, &p.wires_cap.0),
                cap(b, &p.plonk_zs_partial_products_cap.0),
                cap(b, &p.quotient_polys_cap.0),
            ],
            constants: ext(b, &o.constants),
            plonk_sigmas: ext(b, &o.plonk_sigmas),
            wires: ext(b, &o.wires),
            plonk_zs: ext(b, &o.plonk_zs),
            plonk_zs_next: ext(b, &o.plonk_zs_next),
            partial_products: ext(b, &o.partial_products),
            quotient_polys: ext(b, &o.quotient_polys),
            commit_phase_caps: fri.commit_phase_merkle_caps.iter().map(|c| cap(b, &c.0)).collect(),
            queries,
            final_poly: ext(b, &fri.final_poly.coeffs),
            pow_witness: b.witness_base(fri.pow_witness),
        })
    }
}

/// The Goldilocks view of the transcript permutation: its rate, in Goldilocks values.
const VIEW_WIDTH: usize = 12;

/// plonky2's duplex-sponge challenger over the Goldilocks view of the Poseidon over
/// `Fr` permutation, computing exactly what `sponge::permute_view` gives, with the
/// view unpacked only when it is read: a duplex whose input overwrites the whole
/// view packs the input directly, and outputs are unpacked only when a challenge
/// is drawn.
struct Transcript<B: Backend> {
    /// The rate scalars after the last permutation.
    rate: [B::Fr; 4],
    capacity: B::Fr,
    /// `unpack` of `rate`, once needed.
    view: Option<[B::Base; VIEW_WIDTH]>,
    input: Vec<B::Base>,
    /// How many outputs of the last duplex are left (plonky2's output buffer).
    outputs_left: usize,
}

impl<B: Backend> Transcript<B> {
    fn new(b: &mut B) -> Self {
        let zero = b.base_constant(Gl::ZERO);
        let zero_fr = b.fr_constant(Fr::from(0u64));
        Self {
            rate: core::array::from_fn(|_| zero_fr.clone()),
            capacity: zero_fr,
            view: Some(core::array::from_fn(|_| zero.clone())),
            input: Vec::new(),
            outputs_left: 0,
        }
    }

    fn view(&mut self, b: &mut B) -> [B::Base; VIEW_WIDTH] {
        if let Some(view) = &self.view {
            return view.clone();
        }
        let mut values = Vec::with_capacity(VIEW_WIDTH);
        for scalar in &self.rate {
            values.extend(b.unpack(scalar));
        }
        let view: [B::Base; VIEW_WIDTH] = core::array::from_fn(|i| values[i].clone());
        self.view = Some(view.clone());
        view
    }

    fn observe(&mut self, b: &mut B, value: &B::Base) {
        self.outputs_left = 0;
        self.input.push(value.clone());
        if self.input.len() == VIEW_WIDTH {
            self.duplex(b);
        }
    }

    fn observe_all(&mut self, b: &mut B, values: &[B::Base]) {
        for value in values {
            self.observe(b, value);
        }
    }

    fn observe_ext(&mut self, b: &mut B, values: &[B::Ext]) {
        for value in values {
            let parts = b.ext_parts(value);
            self.observe_all(b, &parts);
        }
    }

    fn observe_cap(&mut self, b: &mut B, cap: &[B::Fr]) {
        for digest in cap {
            let limbs = b.digest_limbs(digest);
            self.observe_all(b, &limbs);
        }
    }

    fn observe_constants(&mut self, b: &mut B, values: impl IntoIterator<Item = Gl>) {
        for value in values {
            let value = b.base_constant(value);
            self.observe(b, &value);
        }
    }

    fn duplex(&mut self, b: &mut B) {
        let input: Vec<B::Base> = self.input.drain(..).collect();
        let view: Vec<B::Base> = if input.len() == VIEW_WIDTH {
            input
        } else {
            let mut view = self.view(b).to_vec();
            for (slot, value) in view.iter_mut().zip(input) {
                *slot = value;
            }
            view
        };
        let mut state = [
            self.capacity.clone(),
            b.fr_constant(Fr::from(0u64)),
            b.fr_constant(Fr::from(0u64)),
            b.fr_constant(Fr::from(0u64)),
            b.fr_constant(Fr::from(0u64)),
        ];
        for (slot, chunk) in state[1..].iter_mut().zip(view.chunks(3)) {
            *slot = b.pack(chunk);
        }
        let state = b.permute(&state);
        let [capacity, r0, r1, r2, r3] = state;
        self.capacity = capacity;
        self.rate = [r0, r1, r2, r3];
        self.view = None;
        self.outputs_left = VIEW_WIDTH;
    }

    fn challenge(&mut self, b: &mut B) -> B::Base {
        if !self.input.is_empty() || self.outputs_left == 0 {
            self.duplex(b);
        }
        self.outputs_left -= 1;
        let view = self.view(b);
        view[self.outputs_left].clone()
    }

    fn ext_challenge(&mut self, b: &mut B) -> B::Ext {
        let c0 = self.challenge(b);
        let c1 = self.challenge(b);
        b.ext_from_parts(&c0, &c1)
    }
}

/// The FRI parameters as plonky2 observes them first (`FriParams::observe`).
fn fri_params_transcript(common: &CommonCircuitData<Gl, 2>) -> Vec<Gl> {
    let params = &common.fri_params;
    let config = &params.config;
    let mut out = vec![
        Gl::from_canonical_usize(config.rate_bits),
        Gl::from_canonical_usize(config.cap_height),
        Gl::from_canonical_u32(config.proof_of_work_bits),
    ];
    out.extend(match &config.reduction_strategy {
        FriReductionStrategy::Fixed(bits) => core::iter::once(Gl::ZERO)
            .chain(bits.iter().map(|&x| Gl::from_canonical_usize(x)))
            .collect::<Vec<_>>(),
        FriReductionStrategy::ConstantArityBits(arity, final_bits) => {
            vec![Gl::ONE, Gl::from_canonical_usize(*arity), Gl::from_canonical_usize(*final_bits)]
        }
        FriReductionStrategy::MinSize(max) => vec![Gl::TWO, Gl::from_canonical_usize(max.unwrap_or(0))],
    });
    out.push(Gl::from_canonical_usize(config.num_query_rounds));
    out.push(Gl::from_bool(params.hiding));
    out.push(Gl::from_canonical_usize(params.degree_bits));
    out.extend(params.reduction_arity_bits.iter().map(|&x| Gl::from_canonical_usize(x)));
    out
}

/// `Π_i (bits[i] ? factors[i] : 1)`, each factor linear in its bit.
fn product_of_selected<B: Backend>(b: &mut B, bits: &[B::Bool], factors: &[Gl]) -> B::Base {
    let mut acc: Option<B::Base> = None;
    for (bit, &factor) in bits.iter().zip(factors) {
        let bit = b.bool_to_base(bit);
        let scaled = b.base_scale(&bit, factor - Gl::ONE);
        let one = b.base_constant(Gl::ONE);
        let term = b.base_add(&scaled, &one);
        acc = Some(match acc {
            None => term,
            Some(acc) => b.base_mul(&acc, &term),
        });
    }
    acc.unwrap_or_else(|| b.base_constant(Gl::ONE))
}

/// Selects `values[index]` with a multiplexer tree over the little-endian `bits`.
fn select_by_bits<B: Backend, T: Clone>(
    b: &mut B,
    bits: &[B::Bool],
    values: &[T],
    select: fn(&mut B, &B::Bool, &T, &T) -> T,
) -> Option<T> {
    let mut layer = values.to_vec();
    for bit in bits {
        if layer.len() < 2 {
            break;
        }
        let mut next = Vec::with_capacity(layer.len().div_ceil(2));
        for pair in layer.chunks(2) {
            next.push(match pair {
                [even, odd] => select(b, bit, odd, even),
                _ => pair[0].clone(),
            });
        }
        layer = next;
    }
    layer.into_iter().next()
}

/// Checks a Merkle path from `leaf` at the position given by `index_bits` (little
/// endian, the leaf's level first) to one of the cap's digests.
fn verify_merkle_path<B: Backend>(
    b: &mut B,
    leaf: &[B::Base],
    index_bits: &[B::Bool],
    siblings: &[B::Fr],
    cap: &[B::Fr],
    what: &'static str,
) {
    let mut digest = sponge::hash_or_noop(b, leaf);
    for (bit, sibling) in index_bits.iter().zip(siblings) {
        let left = b.select_fr(bit, sibling, &digest);
        let right = b.select_fr(bit, &digest, sibling);
        digest = sponge::two_to_one(b, &left, &right);
    }
    let cap_bits = &index_bits[siblings.len().min(index_bits.len())..];
    match select_by_bits(b, cap_bits, cap, |b, bit, t, f| b.select_fr(bit, t, f)) {
        Some(root) => b.assert_fr_equal(&digest, &root, what),
        None => {
            let zero = b.fr_constant(Fr::from(0u64));
            let one = b.fr_constant(Fr::from(1u64));
            b.assert_fr_equal(&zero, &one, what);
        }
    }
}

/// The inverse DFT over the subgroup of order `n = 2^bits`: row `j` of the matrix
/// maps values at `g^i` to the coefficient of `X^j`.
fn inverse_dft_matrix(bits: usize) -> Vec<Vec<Gl>> {
    let n = 1usize << bits;
    let g_inv = Gl::primitive_root_of_unity(bits).inverse();
    let n_inv = Gl::from_canonical_usize(n).inverse();
    (0..n).map(|j| (0..n).map(|i| n_inv * g_inv.exp_u64((i * j) as u64)).collect()).collect()
}

/// Verifies `proof` for the circuit `common` with the verifier constants
/// `constants`. Every check is a backend assertion: natively the verdict is
/// `b.failure()`; in R1CS a failing proof leaves the system unsatisfiable.
pub fn verify<B: Backend>(
    b: &mut B,
    common: &CommonCircuitData<Gl, 2>,
    constants: &VerifierConstants,
    proof: &ProofVars<B>,
) {
    let config = &common.config;
    let num_challenges = config.num_challenges;
    let degree_bits = common.fri_params.degree_bits;

    // The transcript: plonky2's `get_challenges`.
    b.section("transcript");
    let mut t = Transcript::new(b);
    t.observe_constants(b, fri_params_transcript(common));
    let digest = b.fr_constant(constants.circuit_digest);
    t.observe_cap(b, &[digest]);
    b.section("public inputs hash");
    let pi_hash = crate::poseidon_goldilocks::hash_no_pad(b, &proof.public_inputs);
    b.section("transcript");
    t.observe_all(b, &pi_hash);
    t.observe_cap(b, &proof.caps[0]);
    let betas: Vec<B::Base> = (0..num_challenges).map(|_| t.challenge(b)).collect();
    let gammas: Vec<B::Base> = (0..num_challenges).map(|_| t.challenge(b)).collect();
    t.observe_cap(b, &proof.caps[1]);
    let alphas: Vec<B::Base> = (0..num_challenges).map(|_| t.challenge(b)).collect();
    t.observe_cap(b, &proof.caps[2]);
    let zeta = t.ext_challenge(b);
    let zeta_batch: Vec<B::Ext> = [
        &proof.constants,
        &proof.plonk_sigmas,
        &proof.wires,
        &proof.plonk_zs,
        &proof.partial_products,
        &proof.quotient_polys,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    t.observe_ext(b, &zeta_batch);
    t.observe_ext(b, &proof.plonk_zs_next);
    let fri_alpha = t.ext_challenge(b);
    let mut fri_betas = Vec::with_capacity(proof.commit_phase_caps.len());
    for cap in &proof.commit_phase_caps {
        t.observe_cap(b, cap);
        fri_betas.push(t.ext_challenge(b));
    }
    t.observe_ext(b, &proof.final_poly);
    t.observe(b, &proof.pow_witness);
    let pow_response = t.challenge(b);
    let query_challenges: Vec<B::Base> = (0..proof.queries.len()).map(|_| t.challenge(b)).collect();

    // The vanishing polynomial at zeta and the quotient identity.
    b.section("gates");
    let gate_terms =
        match crate::gates::evaluate_gate_constraints(b, common, &proof.constants, &proof.wires, &pi_hash) {
            Ok(terms) => terms,
            Err(_) => {
                // `ProofVars::allocate` is the place to refuse such a circuit; this
                // keeps the verifier total.
                let zero = b.zero();
                let one = b.one();
                b.assert_equal(&zero, &one, "a gate the verifier does not support");
                return;
            }
        };
    b.section("permutation argument");
    let n = common.degree();
    let zeta_pow_n = {
        let mut x = zeta.clone();
        for _ in 0..degree_bits {
            x = b.square(&x);
        }
        x
    };
    let one = b.one();
    let z_h = b.sub(&zeta_pow_n, &one);
    let zeta_minus_one = b.sub(&zeta, &one);
    let n_times = b.scale(&zeta_minus_one, GlExt::from_canonical_usize(n));
    let l_0 = b.div(&z_h, &n_times, "zeta is a root of unity");

    let max_degree = common.quotient_degree_factor;
    let num_prods = common.num_partial_products;
    let mut z_1_terms = Vec::with_capacity(num_challenges);
    let mut partial_terms = Vec::new();
    for i in 0..num_challenges {
        let z_x = &proof.plonk_zs[i];
        let z_gx = &proof.plonk_zs_next[i];
        let z_minus_one = b.sub(z_x, &one);
        z_1_terms.push(b.mul(&l_0, &z_minus_one));
        let gamma = b.ext_from_base(&gammas[i]);
        // `k_j · zeta · beta` as `k_j · (zeta · beta)`: one product, reduced once,
        // which each `k_j` then scales for free.
        let zeta_beta = b.mul_base(&zeta, &betas[i]);
        let zeta_beta = b.reduce(&zeta_beta);
        let mut numerators = Vec::with_capacity(config.num_routed_wires);
        let mut denominators = Vec::with_capacity(config.num_routed_wires);
        for j in 0..config.num_routed_wires {
            let wire = &proof.wires[j];
            let s_id_beta = b.scale(
                &zeta_beta,
                <GlExt as plonky2::field::extension::FieldExtension<2>>::from_basefield(common.k_is[j]),
            );
            let numerator = b.add(wire, &s_id_beta);
            numerators.push(b.add(&numerator, &gamma));
            let sigma_beta = b.mul_base(&proof.plonk_sigmas[j], &betas[i]);
            let denominator = b.add(wire, &sigma_beta);
            denominators.push(b.add(&denominator, &gamma));
        }
        let partials = &proof.partial_products[i * num_prods..(i + 1) * num_prods];
        let accumulators: Vec<&B::Ext> =
            core::iter::once(z_x).chain(partials).chain(core::iter::once(z_gx)).collect();
        for ((nums, dens), window) in
            numerators.chunks(max_degree).zip(denominators.chunks(max_degree)).zip(accumulators.windows(2))
        {
            let num_product = product(b, nums);
            let den_product = product(b, dens);
            let prev_num = b.mul(window[0], &num_product);
            let next_den = b.mul(window[1], &den_product);
            partial_terms.push(b.sub(&prev_num, &next_den));
        }
    }
    let terms: Vec<B::Ext> = z_1_terms.into_iter().chain(partial_terms).chain(gate_terms).collect();
    b.section("quotient check");
    for (i, alpha) in alphas.iter().enumerate() {
        // `reduce_with_powers_multi`: Σ terms[k]·alpha^k.
        let acc = b.evaluate_at_base(&terms, alpha);
        let chunk = &proof.quotient_polys[i * max_degree..(i + 1) * max_degree];
        let quotient = b.reduce_with_powers(chunk, &zeta_pow_n);
        let expected = b.mul(&z_h, &quotient);
        b.assert_equal(&acc, &expected, "vanishing polynomial = Z_H · quotient at zeta");
    }

    // FRI.
    b.section("fri");
    verify_fri(b, common, constants, proof, &zeta, &zeta_batch, &fri_alpha, &fri_betas, &query_challenges);
    b.section("proof of work");
    let pow_bits = b.base_to_bits(&pow_response);
    let required = common.fri_params.config.proof_of_work_bits as usize;
    for bit in pow_bits.iter().rev().take(required) {
        b.assert_false(bit, "proof of work");
    }
}

fn product<B: Backend>(b: &mut B, values: &[B::Ext]) -> B::Ext {
    let mut iter = values.iter();
    let mut acc = match iter.next() {
        Some(first) => first.clone(),
        None => return b.one(),
    };
    for value in iter {
        acc = b.mul(&acc, value);
    }
    acc
}

#[allow(clippy::too_many_arguments)]
fn verify_fri<B: Backend>(
    b: &mut B,
    common: &CommonCircuitData<Gl, 2>,
    constants: &VerifierConstants,
    proof: &ProofVars<B>,
    zeta: &B::Ext,
    zeta_batch: &[B::Ext],
    fri_alpha: &B::Ext,
    fri_betas: &[B::Ext],
    query_challenges: &[B::Base],
) {
    let shape = Shape::of(common);
    let lde_bits = shape.lde_bits;
    let g = Gl::primitive_root_of_unity(shape.degree_bits);
    let zeta_next = b.scale(zeta, <GlExt as plonky2::field::extension::FieldExtension<2>>::from_basefield(g));

    // Powers of alpha, shared by every query: alpha^0 .. alpha^(widest batch), most
    // of them lazy products of two reduced powers (`Algebra::powers`): every use
    // below multiplies a power by a canonical value and sums.
    let batch0_len: usize = shape.oracles.iter().sum();
    let batch1_len = common.config.num_challenges;
    let alpha_powers = b.powers(fri_alpha, batch0_len.max(batch1_len) + 1);
    // The reduced openings, as plonky2's `PrecomputedReducedOpenings`.
    let reduced0 = inner_product(b, zeta_batch, &alpha_powers);
    let reduced1 = inner_product(b, &proof.plonk_zs_next, &alpha_powers);

    // The generator powers that turn index bits into the point `subgroup_x`.
    let omega = Gl::primitive_root_of_unity(lde_bits);
    let inverse_dfts: Vec<Vec<Vec<Gl>>> =
        shape.arity_bits.iter().map(|&bits| inverse_dft_matrix(bits)).collect();

    let constants_cap = constants_cap(b, constants);
    let initial_caps: [&[B::Fr]; 4] = [&constants_cap, &proof.caps[0], &proof.caps[1], &proof.caps[2]];
    for (query, challenge) in proof.queries.iter().zip(query_challenges) {
        b.section("fri: index bits and point");
        let all_bits = b.base_to_bits(challenge);
        let index_bits = &all_bits[..lde_bits];

        // The opened leaves against the four initial caps.
        b.section("fri: initial Merkle paths");
        for ((leaf, siblings), cap) in query.initial.iter().zip(initial_caps.iter()) {
            verify_merkle_path(b, leaf, index_bits, siblings, cap, "initial Merkle path");
        }

        b.section("fri: index bits and point");
        // subgroup_x = g · omega^reverse_bits(index): bit i of the index weighs
        // omega^(2^(lde_bits - 1 - i)).
        let factors: Vec<Gl> = (0..lde_bits).map(|i| omega.exp_power_of_2(lde_bits - 1 - i)).collect();
        let rotation = product_of_selected(b, index_bits, &factors);
        let mut x = b.base_scale(&rotation, Gl::MULTIPLICATIVE_GROUP_GENERATOR);

        // `fri_combine_initial`.
        b.section("fri: initial combination");
        let leaf_values: Vec<B::Base> =
            query.initial.iter().flat_map(|(leaf, _)| leaf.iter().cloned()).collect();
        let mut sum0 = b.zero();
        for (value, power) in leaf_values.iter().zip(&alpha_powers) {
            let term = b.mul_base(power, value);
            sum0 = b.add(&sum0, &term);
        }
        let zs: Vec<B::Base> = query.initial[2].0[..common.config.num_challenges].to_vec();
        let mut sum1 = b.zero();
        for (value, power) in zs.iter().zip(&alpha_powers) {
            let term = b.mul_base(power, value);
            sum1 = b.add(&sum1, &term);
        }
        let x_ext = b.ext_from_base(&x);
        let numerator0 = b.sub(&sum0, &reduced0);
        let denominator0 = b.sub(&x_ext, zeta);
        let quotient0 = b.div(&numerator0, &denominator0, "query point equals zeta");
        let numerator1 = b.sub(&sum1, &reduced1);
        let denominator1 = b.sub(&x_ext, &zeta_next);
        let quotient1 = b.div(&numerator1, &denominator1, "query point equals g·zeta");
        let shifted = b.mul(&quotient0, &alpha_powers[batch1_len]);
        let mut old_eval = b.add(&shifted, &quotient1);

        // The reduction steps.
        let mut consumed = 0;
        for (((evals, siblings), &arity_bits), (beta, (cap, idft))) in query
            .steps
            .iter()
            .zip(&shape.arity_bits)
            .zip(fri_betas.iter().zip(proof.commit_phase_caps.iter().zip(&inverse_dfts)))
        {
            b.section("fri: folding");
            let within = &index_bits[consumed..consumed + arity_bits];
            let coset_bits = &index_bits[consumed + arity_bits..];
            // The coset holds the previous evaluation at the index within it.
            if let Some(claimed) = select_by_bits(b, within, evals, |b, bit, t, f| b.select_ext(bit, t, f)) {
                b.assert_equal(&claimed, &old_eval, "FRI step is consistent with the previous one");
            }
            // Fold: interpolate the coset's values and evaluate at beta. The
            // evaluations are stored in bit-reversed order; after reversal the value
            // i sits at coset_start·h^i, h a primitive 2^arity_bits-th root of unity,
            // coset_start = x·h^(-reverse_bits(index within coset)).
            let arity = 1usize << arity_bits;
            let ordered: Vec<B::Ext> =
                (0..arity).map(|i| evals[reverse_bits(i, arity_bits)].clone()).collect();
            let h_inv = Gl::primitive_root_of_unity(arity_bits).inverse();
            // reverse_bits(within) has bit i of `within` at weight 2^(arity_bits-1-i).
            let factors: Vec<Gl> =
                (0..arity_bits).map(|i| h_inv.exp_power_of_2(arity_bits - 1 - i)).collect();
            let shift = product_of_selected(b, within, &factors);
            let coset_start = b.base_mul(&x, &shift);
            let coset_start_ext = b.ext_from_base(&coset_start);
            let y = b.div(beta, &coset_start_ext, "coset start is zero");
            let mut coefficients = Vec::with_capacity(arity);
            for row in idft {
                let mut acc = b.zero();
                for (value, &c) in ordered.iter().zip(row) {
                    let term = b.scale(
                        value,
                        <GlExt as plonky2::field::extension::FieldExtension<2>>::from_basefield(c),
                    );
                    acc = b.add(&acc, &term);
                }
                coefficients.push(acc);
            }
            old_eval = b.evaluate_at(&coefficients, &y);

            b.section("fri: step Merkle paths");
            let leaf: Vec<B::Base> = evals.iter().flat_map(|e| b.ext_parts(e)).collect();
            verify_merkle_path(b, &leaf, coset_bits, siblings, cap, "FRI step Merkle path");
            consumed += arity_bits;
            for _ in 0..arity_bits {
                x = b.base_mul(&x, &x);
            }
        }

        // The final polynomial at the folded point.
        b.section("fri: final polynomial");
        let final_eval = b.evaluate_at_base(&proof.final_poly, &x);
        b.assert_equal(&final_eval, &old_eval, "final polynomial");
    }
}

fn constants_cap<B: Backend>(b: &mut B, constants: &VerifierConstants) -> Vec<B::Fr> {
    constants.constants_sigmas_cap.iter().map(|d| b.fr_constant(*d)).collect()
}

fn inner_product<B: Backend>(b: &mut B, values: &[B::Ext], powers: &[B::Ext]) -> B::Ext {
    let mut acc = b.zero();
    for (value, power) in values.iter().zip(powers) {
        let term = b.mul(value, power);
        acc = b.add(&acc, &term);
    }
    acc
}

fn reverse_bits(value: usize, bits: usize) -> usize {
    if bits == 0 {
        0
    } else {
        value.reverse_bits() >> (usize::BITS as usize - bits)
    }
}

/// Verifies a wrapper proof natively with this module's verifier: `Ok` or the first
/// failed check.
pub fn verify_native(
    common: &CommonCircuitData<Gl, 2>,
    constants: &VerifierConstants,
    proof: &WrapProof,
) -> Result<(), VerifyError> {
    let mut b = crate::algebra::Native::new();
    let vars = ProofVars::allocate(&mut b, common, proof)?;
    verify(&mut b, common, constants, &vars);
    match b.failure() {
        None => Ok(()),
        Some(what) => Err(VerifyError::Check(what)),
    }
}

/// Why a wrapper proof was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The proof does not fit the circuit.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// A check failed.
    #[error("check failed: {0}")]
    Check(&'static str),
}

/// A proof of the right shape for `common` with every value zero: what the R1CS
/// is synthesized from when there is no witness (Groth16's setup).
pub fn dummy_proof(common: &CommonCircuitData<Gl, 2>) -> WrapProof {
    use plonky2::field::polynomial::PolynomialCoeffs;
    use plonky2::fri::proof::{FriInitialTreeProof, FriProof, FriQueryRound, FriQueryStep};
    use plonky2::hash::merkle_proofs::MerkleProof;
    use plonky2::hash::merkle_tree::MerkleCap;
    use plonky2::plonk::proof::{OpeningSet, Proof};

    type Hash = <<WrapConfig as GenericConfig<2>>::Hasher as plonky2::plonk::config::Hasher<Gl>>::Hash;
    let shape = Shape::of(common);
    let config = &common.config;
    let challenges = config.num_challenges;
    let zero_digest = <Hash as GenericHashOut<Gl>>::from_bytes(&[0u8; 32]);
    let cap = || MerkleCap(vec![zero_digest; shape.caps]);
    let ext = |n: usize| vec![GlExt::ZERO; n];
    let path = |n: usize| MerkleProof { siblings: vec![zero_digest; n] };
    let round = || {
        let mut bits = shape.lde_bits;
        FriQueryRound {
            initial_trees_proof: FriInitialTreeProof {
                evals_proofs: shape
                    .oracles
                    .iter()
                    .map(|&width| (vec![Gl::ZERO; width], path(shape.lde_bits - shape.cap_height)))
                    .collect(),
            },
            steps: shape
                .arity_bits
                .iter()
                .map(|&arity_bits| {
                    bits -= arity_bits;
                    FriQueryStep { evals: ext(1 << arity_bits), merkle_proof: path(bits - shape.cap_height) }
                })
                .collect(),
        }
    };
    ProofWithPublicInputs {
        proof: Proof {
            wires_cap: cap(),
            plonk_zs_partial_products_cap: cap(),
            quotient_polys_cap: cap(),
            openings: OpeningSet {
                constants: ext(common.num_constants),
                plonk_sigmas: ext(config.num_routed_wires),
                wires: ext(config.num_wires),
                plonk_zs: ext(challenges),
                plonk_zs_next: ext(challenges),
                partial_products: ext(challenges * common.num_partial_products),
                quotient_polys: ext(shape.oracles[3]),
                lookup_zs: Vec::new(),
                lookup_zs_next: Vec::new(),
            },
            opening_proof: FriProof {
                commit_phase_merkle_caps: shape.arity_bits.iter().map(|_| cap()).collect(),
                query_round_proofs: (0..shape.queries).map(|_| round()).collect(),
                final_poly: PolynomialCoeffs::new(ext(shape.final_poly_len)),
                pow_witness: Gl::ZERO,
            },
        },
        public_inputs: vec![Gl::ZERO; common.num_public_inputs],
    }
}

//! The R1CS backend (placeholder: being written).

//! Analyses over graphs.

pub mod interval;

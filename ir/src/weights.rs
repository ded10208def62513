//! (in progress) weights

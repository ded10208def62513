//! qcc integration test helpers

pub mod filetest;

//! (in progress) infer

//! (in progress) verify

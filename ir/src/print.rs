//! (in progress) print

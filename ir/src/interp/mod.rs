//! (in progress) reference interpreter

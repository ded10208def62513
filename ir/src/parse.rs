//! (in progress) parse

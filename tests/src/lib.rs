//! qcc integration test helpers

//! (in progress) verifier — placeholder API until the implementation lands.
use crate::Graph;
/// All verifier errors.
#[derive(Debug)]
pub struct VerifyErrors(pub Vec<String>);
impl VerifyErrors {
    /// Count.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// None.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
impl std::fmt::Display for VerifyErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}
/// Verifies.
pub fn verify(_g: &Graph) -> Result<(), VerifyErrors> {
    Ok(())
}

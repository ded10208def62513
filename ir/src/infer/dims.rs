//! Arithmetic on possibly symbolic dimensions: broadcasting, products, axis normalization.
//!
//! A named symbol (`N`) equals itself; the anonymous unknown `?` is never known equal to anything,
//! not even another `?`.

use crate::types::{Dim, Shape};

/// The anonymous unknown extent.
pub fn unknown() -> Dim {
    Dim::Sym("?".to_string())
}

/// True for the anonymous unknown `?`.
pub fn is_anon(d: &Dim) -> bool {
    matches!(d, Dim::Sym(s) if s == "?")
}

/// `Some(true)` when two dims are known equal, `Some(false)` when known different, `None` when
/// it cannot be told.
pub fn known_eq(a: &Dim, b: &Dim) -> Option<bool> {
    match (a, b) {
        (Dim::Fixed(x), Dim::Fixed(y)) => Some(x == y),
        (Dim::Sym(x), Dim::Sym(y)) if x == y && x != "?" => Some(true),
        _ => None,
    }
}

/// True unless the dims are known different.
pub fn compatible(a: &Dim, b: &Dim) -> bool {
    known_eq(a, b) != Some(false)
}

/// The more precise of two dims that must be equal (error when known different).
pub fn unify(a: &Dim, b: &Dim) -> Result<Dim, String> {
    match (a, b) {
        (Dim::Fixed(x), Dim::Fixed(y)) if x != y => Err(format!("extents {x} and {y} differ")),
        (Dim::Fixed(_), _) => Ok(a.clone()),
        (_, Dim::Fixed(_)) => Ok(b.clone()),
        _ if is_anon(a) => Ok(b.clone()),
        _ => Ok(a.clone()),
    }
}

/// Numpy broadcasting of two dims.
pub fn broadcast_dim(a: &Dim, b: &Dim) -> Result<Dim, String> {
    match (a, b) {
        (Dim::Fixed(1), _) => Ok(b.clone()),
        (_, Dim::Fixed(1)) => Ok(a.clone()),
        (Dim::Fixed(x), Dim::Fixed(y)) if x == y => Ok(a.clone()),
        (Dim::Fixed(x), Dim::Fixed(y)) => Err(format!("extents {x} and {y} do not broadcast")),
        // A symbol against n ≠ 1: it is either 1 or n, the result is n either way.
        (Dim::Fixed(_), Dim::Sym(_)) => Ok(a.clone()),
        (Dim::Sym(_), Dim::Fixed(_)) => Ok(b.clone()),
        (Dim::Sym(x), Dim::Sym(y)) if x == y && x != "?" => Ok(a.clone()),
        _ => Ok(unknown()),
    }
}

/// Numpy broadcasting of shapes (unknown rank anywhere gives unknown rank).
pub fn broadcast(shapes: &[&Shape]) -> Result<Shape, String> {
    let mut out: Vec<Dim> = Vec::new();
    for s in shapes {
        let Some(dims) = s.dims() else { return Ok(Shape::unknown()) };
        let r = out.len().max(dims.len());
        let mut next = Vec::with_capacity(r);
        for i in 0..r {
            let a = (i + out.len()).checked_sub(r).map(|j| &out[j]);
            let b = (i + dims.len()).checked_sub(r).map(|j| &dims[j]);
            next.push(match (a, b) {
                (Some(a), Some(b)) => broadcast_dim(a, b).map_err(|e| {
                    format!("shapes {} and {} do not broadcast ({e})", Shape(Some(out.clone())), s)
                })?,
                (Some(a), None) => a.clone(),
                (None, Some(b)) => b.clone(),
                (None, None) => unreachable!("i < max rank"),
            });
        }
        out = next;
    }
    Ok(Shape(Some(out)))
}

/// Product of dims: fixed when all are fixed, a symbol when it is the only non-1 factor, else `?`.
pub fn product(dims: &[Dim]) -> Dim {
    let mut fixed = 1usize;
    let mut syms: Vec<&Dim> = Vec::new();
    for d in dims {
        match d {
            Dim::Fixed(n) => fixed = fixed.saturating_mul(*n),
            Dim::Sym(_) => syms.push(d),
        }
    }
    match (syms.len(), fixed) {
        (_, 0) => Dim::Fixed(0),
        (0, n) => Dim::Fixed(n),
        (1, 1) => syms[0].clone(),
        _ => unknown(),
    }
}

/// `d · k` for a known factor.
pub fn mul(d: &Dim, k: usize) -> Dim {
    match (d, k) {
        (Dim::Fixed(n), _) => Dim::Fixed(n.saturating_mul(k)),
        (_, 1) => d.clone(),
        (_, 0) => Dim::Fixed(0),
        _ => unknown(),
    }
}

/// Normalizes a possibly negative axis against `rank` (`-1` is the last axis).
pub fn axis(a: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(format!("axis {a} is out of range for rank {rank}"));
    }
    Ok(if a < 0 { (a + r) as usize } else { a as usize })
}

/// A shape of known rank whose every dim is `?`.
pub fn unknown_dims(rank: usize) -> Shape {
    Shape(Some(vec![unknown(); rank]))
}

/// Converts a shape value (e.g. of Reshape) to an extent; negative is an error.
pub fn extent(v: i64, what: &str) -> Result<usize, String> {
    usize::try_from(v).map_err(|_| format!("{what} {v} is negative"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Dim {
        Dim::Sym(v.into())
    }

    #[test]
    fn broadcasting_rules() {
        assert_eq!(broadcast_dim(&Dim::Fixed(1), &s("N")), Ok(s("N")));
        assert_eq!(broadcast_dim(&s("N"), &s("N")), Ok(s("N")));
        assert_eq!(broadcast_dim(&s("N"), &s("M")), Ok(unknown()));
        assert_eq!(broadcast_dim(&s("?"), &s("?")), Ok(unknown()));
        assert_eq!(broadcast_dim(&s("N"), &Dim::Fixed(3)), Ok(Dim::Fixed(3)));
        assert!(broadcast_dim(&Dim::Fixed(2), &Dim::Fixed(3)).is_err());
        let a = Shape(Some(vec![s("N"), Dim::Fixed(1), Dim::Fixed(4)]));
        let b = Shape::fixed(&[3, 1]);
        assert_eq!(broadcast(&[&a, &b]), Ok(Shape(Some(vec![s("N"), 3.into(), 4.into()]))));
        assert_eq!(broadcast(&[&a, &Shape::unknown()]), Ok(Shape::unknown()));
    }

    #[test]
    fn anonymous_unknowns_are_never_equal() {
        assert_eq!(known_eq(&s("?"), &s("?")), None);
        assert_eq!(known_eq(&s("N"), &s("N")), Some(true));
        assert_eq!(known_eq(&Dim::Fixed(2), &Dim::Fixed(3)), Some(false));
        assert_eq!(product(&[s("N"), 1.into()]), s("N"));
        assert_eq!(product(&[s("N"), 2.into()]), unknown());
        assert_eq!(product(&[3.into(), 4.into()]), Dim::Fixed(12));
        assert_eq!(axis(-1, 4), Ok(3));
        assert!(axis(4, 4).is_err());
    }
}

//! Memory planning: one arena, offsets from liveness by first-fit of live intervals.
//!
//! Each planned buffer has a live interval `[first, last]` in step indices (inclusive) and a
//! size; two buffers may share bytes only when their intervals are disjoint. Buffers are placed
//! in order of decreasing size (ties: earlier definition first) at the lowest 64-byte aligned
//! offset that does not overlap any already placed buffer live at the same time.

/// Alignment of every arena offset.
pub const ALIGN: usize = 64;

/// A buffer to place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// First step at which the buffer is live (its definition).
    pub first: usize,
    /// Last step at which it is read (inclusive).
    pub last: usize,
    /// Size in bytes.
    pub size: usize,
}

/// Offsets (one per interval, same order) and the arena size. Sizes saturate at `usize::MAX`
/// (an arena no limit admits) rather than overflow.
pub fn first_fit(intervals: &[Interval]) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(intervals[i].size), intervals[i].first, i));
    let mut offsets = vec![0usize; intervals.len()];
    let mut placed: Vec<usize> = Vec::new();
    let mut arena = 0usize;
    for i in order {
        let me = intervals[i];
        let size = me.size.div_ceil(ALIGN).saturating_mul(ALIGN);
        // Address ranges of time-overlapping placed buffers, sorted by offset.
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|&&j| intervals[j].first <= me.last && me.first <= intervals[j].last)
            .map(|&j| {
                let hi = intervals[j].size.div_ceil(ALIGN).saturating_mul(ALIGN);
                (offsets[j], offsets[j].saturating_add(hi))
            })
            .collect();
        busy.sort_unstable();
        let mut at = 0usize;
        for (lo, hi) in busy {
            if at.saturating_add(size) <= lo {
                break;
            }
            at = at.max(hi);
        }
        offsets[i] = at;
        arena = arena.max(at.saturating_add(size));
        placed.push(i);
    }
    (offsets, arena)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disjoint_lifetimes_share_and_overlapping_do_not() {
        let iv = [
            Interval { first: 0, last: 1, size: 100 },
            Interval { first: 1, last: 2, size: 100 },
            Interval { first: 2, last: 3, size: 100 },
        ];
        let (off, size) = first_fit(&iv);
        assert_ne!(off[0], off[1]);
        assert_ne!(off[1], off[2]);
        assert_eq!(off[0], off[2], "0 and 2 never live together");
        assert_eq!(size, 256);
    }

    #[test]
    fn no_two_live_buffers_overlap() {
        // Pseudo-random intervals; check the invariant exhaustively.
        let mut s = 12345u64;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as usize
        };
        let iv: Vec<Interval> = (0..60)
            .map(|_| {
                let first = next() % 40;
                Interval { first, last: first + next() % 10, size: 1 + next() % 5000 }
            })
            .collect();
        let (off, arena) = first_fit(&iv);
        for i in 0..iv.len() {
            assert_eq!(off[i] % ALIGN, 0);
            assert!(off[i] + iv[i].size <= arena);
            for j in 0..i {
                let time = iv[i].first <= iv[j].last && iv[j].first <= iv[i].last;
                let space = off[i] < off[j] + iv[j].size && off[j] < off[i] + iv[i].size;
                assert!(!(time && space), "buffers {i} and {j} overlap");
            }
        }
        let total: usize = iv.iter().map(|x| x.size.div_ceil(ALIGN) * ALIGN).sum();
        assert!(arena < total, "sharing saves memory ({arena} vs {total})");
    }

    #[test]
    fn huge_sizes_saturate_instead_of_overflowing() {
        let iv = [
            Interval { first: 0, last: 1, size: usize::MAX - 3 },
            Interval { first: 0, last: 1, size: 100 },
        ];
        let (_, arena) = first_fit(&iv);
        assert_eq!(arena, usize::MAX);
    }
}

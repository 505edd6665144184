//! uid/gid translation ranges with virtiofsd's `--translate-uid` /
//! `--translate-gid` grammar (virtiofsd `src/soft_idmap/cmdline.rs`):
//!
//! - `guest:GUEST:HOST:COUNT`: guest ids `[GUEST, GUEST+COUNT)` → host ids
//!   from `HOST` (guest → host only);
//! - `host:HOST:GUEST:COUNT`: host → guest only;
//! - `map:GUEST:HOST:COUNT`: both directions;
//! - `squash-guest:GUEST:COUNT:HOST`: the guest range → the one host id;
//! - `squash-host:HOST:COUNT:GUEST`: the host range → the one guest id;
//! - `forbid-guest:GUEST:COUNT`: requests and `chown` with these guest ids
//!   fail with `EPERM`.
//!
//! Ranges of one direction may not overlap (virtiofsd refuses too); an id no
//! range covers passes unchanged. A fixed number of ranges keeps the map
//! `Copy` and allocation-free.

use core::fmt;

/// Most ranges of one [`IdMap`].
pub const MAX_RANGES: usize = 16;

/// What a guest → host range does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// 1:1 from this id.
    Base(u32),
    /// Every id to this one.
    Squash(u32),
    /// Refused.
    Forbid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    /// First source id.
    from: u32,
    /// Number of ids (≥ 1).
    count: u32,
    to: Target,
}

impl Range {
    fn covers(&self, id: u32) -> bool {
        id >= self.from && u64::from(id) < u64::from(self.from) + u64::from(self.count)
    }

    fn overlaps(&self, o: &Range) -> bool {
        let (a0, a1) = (
            u64::from(self.from),
            u64::from(self.from) + u64::from(self.count),
        );
        let (b0, b1) = (u64::from(o.from), u64::from(o.from) + u64::from(o.count));
        a0 < b1 && b0 < a1
    }

    /// `None`: forbidden. Targets past `u32::MAX` were refused at parse time.
    fn apply(&self, id: u32) -> Option<u32> {
        match self.to {
            Target::Base(b) => Some(b.wrapping_add(id - self.from)),
            Target::Squash(t) => Some(t),
            Target::Forbid => None,
        }
    }
}

/// A parse or configuration error of a translation range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdMapError {
    /// Not one of the six kinds.
    UnknownKind,
    /// Wrong number of fields for the kind.
    FieldCount,
    /// A field is not a decimal `u32`.
    BadNumber,
    /// `COUNT` is 0, or a range runs past `u32::MAX`.
    BadRange,
    /// Overlaps an earlier range of the same direction.
    Overlap,
    /// More than [`MAX_RANGES`] ranges in one direction.
    TooMany,
}

impl fmt::Display for IdMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdMapError::UnknownKind => {
                "expected guest:, host:, map:, squash-guest:, squash-host: or forbid-guest:"
            }
            IdMapError::FieldCount => "wrong number of fields for this kind",
            IdMapError::BadNumber => "fields must be decimal numbers below 2^32",
            IdMapError::BadRange => "COUNT must be at least 1 and the range end below 2^32",
            IdMapError::Overlap => "range overlaps an earlier one of the same direction",
            IdMapError::TooMany => "too many ranges",
        })
    }
}

/// One direction's ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ranges {
    r: [Range; MAX_RANGES],
    n: usize,
}

impl Default for Ranges {
    fn default() -> Self {
        Ranges {
            r: [Range {
                from: 0,
                count: 1,
                to: Target::Forbid,
            }; MAX_RANGES],
            n: 0,
        }
    }
}

impl Ranges {
    fn add(&mut self, r: Range) -> Result<(), IdMapError> {
        if self.r[..self.n].iter().any(|o| o.overlaps(&r)) {
            return Err(IdMapError::Overlap);
        }
        *self.r.get_mut(self.n).ok_or(IdMapError::TooMany)? = r;
        self.n += 1;
        Ok(())
    }

    fn map(&self, id: u32) -> Option<u32> {
        match self.r[..self.n].iter().find(|r| r.covers(id)) {
            Some(r) => r.apply(id),
            None => Some(id),
        }
    }
}

/// Translation of one kind of id (uids or gids) in both directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IdMap {
    to_host: Ranges,
    to_guest: Ranges,
}

fn num(s: &str) -> Result<u32, IdMapError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdMapError::BadNumber);
    }
    s.parse().map_err(|_| IdMapError::BadNumber)
}

fn range(from: u32, count: u32, to: Target) -> Result<Range, IdMapError> {
    let end = u64::from(from) + u64::from(count);
    let to_end = match to {
        Target::Base(b) => u64::from(b) + u64::from(count),
        _ => 0,
    };
    if count == 0 || end > 1 << 32 || to_end > 1 << 32 {
        return Err(IdMapError::BadRange);
    }
    Ok(Range { from, count, to })
}

impl IdMap {
    /// No translation.
    pub const fn identity() -> IdMap {
        IdMap {
            to_host: Ranges {
                r: [Range {
                    from: 0,
                    count: 1,
                    to: Target::Forbid,
                }; MAX_RANGES],
                n: 0,
            },
            to_guest: Ranges {
                r: [Range {
                    from: 0,
                    count: 1,
                    to: Target::Forbid,
                }; MAX_RANGES],
                n: 0,
            },
        }
    }

    /// Adds one range in virtiofsd's syntax (see the module docs).
    pub fn add(&mut self, spec: &str) -> Result<(), IdMapError> {
        let (kind, rest) = spec.split_once(':').ok_or(IdMapError::UnknownKind)?;
        let mut f = [0u32; 3];
        let mut n = 0;
        for p in rest.split(':') {
            *f.get_mut(n).ok_or(IdMapError::FieldCount)? = num(p)?;
            n += 1;
        }
        let want = if kind == "forbid-guest" { 2 } else { 3 };
        if !matches!(
            kind,
            "guest" | "host" | "map" | "squash-guest" | "squash-host" | "forbid-guest"
        ) {
            return Err(IdMapError::UnknownKind);
        }
        if n != want {
            return Err(IdMapError::FieldCount);
        }
        let [a, b, c] = f;
        match kind {
            "guest" => self.to_host.add(range(a, c, Target::Base(b))?),
            "host" => self.to_guest.add(range(a, c, Target::Base(b))?),
            "map" => {
                let g2h = range(a, c, Target::Base(b))?;
                let h2g = range(b, c, Target::Base(a))?;
                if self.to_guest.r[..self.to_guest.n]
                    .iter()
                    .any(|o| o.overlaps(&h2g))
                {
                    return Err(IdMapError::Overlap);
                }
                self.to_host.add(g2h)?;
                self.to_guest.add(h2g)
            }
            "squash-guest" => self.to_host.add(range(a, b, Target::Squash(c))?),
            "squash-host" => self.to_guest.add(range(a, b, Target::Squash(c))?),
            _ => self.to_host.add(range(a, b, Target::Forbid)?),
        }
    }

    /// The host id for guest id `id`; `None` when a `forbid-guest` range has it.
    pub fn to_host(&self, id: u32) -> Option<u32> {
        self.to_host.map(id)
    }

    /// The guest id shown for host id `id`.
    pub fn to_guest(&self, id: u32) -> u32 {
        self.to_guest.map(id).unwrap_or(id)
    }

    /// Whether any range was added.
    pub fn is_identity(&self) -> bool {
        self.to_host.n == 0 && self.to_guest.n == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(specs: &[&str]) -> IdMap {
        let mut m = IdMap::identity();
        for s in specs {
            m.add(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        m
    }

    #[test]
    fn kinds() {
        let x = m(&["map:0:100000:65536"]);
        assert_eq!(x.to_host(0), Some(100000));
        assert_eq!(x.to_host(65535), Some(165535));
        assert_eq!(x.to_host(65536), Some(65536));
        assert_eq!(x.to_guest(100001), 1);
        assert_eq!(x.to_guest(5), 5);

        let x = m(&["squash-guest:0:4294967295:1000", "host:1000:0:1"]);
        assert_eq!(x.to_host(0), Some(1000));
        assert_eq!(x.to_host(4294967294), Some(1000));
        assert_eq!(x.to_guest(1000), 0);

        let x = m(&["guest:5:10:2", "squash-host:0:100:7", "forbid-guest:100:10"]);
        assert_eq!(x.to_host(6), Some(11));
        assert_eq!(x.to_guest(11), 7);
        assert_eq!(x.to_guest(100), 100);
        assert_eq!(x.to_guest(42), 7);
        assert_eq!(x.to_host(105), None);
        assert_eq!(x.to_host(110), Some(110));
        assert!(IdMap::identity().is_identity());
    }

    #[test]
    fn errors() {
        let mut x = IdMap::identity();
        assert_eq!(x.add("bogus:1:2:3"), Err(IdMapError::UnknownKind));
        assert_eq!(x.add("map"), Err(IdMapError::UnknownKind));
        assert_eq!(x.add("map:1:2"), Err(IdMapError::FieldCount));
        assert_eq!(x.add("map:1:2:3:4"), Err(IdMapError::FieldCount));
        assert_eq!(x.add("forbid-guest:1:2:3"), Err(IdMapError::FieldCount));
        assert_eq!(x.add("map:1:x:3"), Err(IdMapError::BadNumber));
        assert_eq!(x.add("map:-1:2:3"), Err(IdMapError::BadNumber));
        assert_eq!(x.add("map:1::3"), Err(IdMapError::BadNumber));
        assert_eq!(x.add("map:1:2:4294967296"), Err(IdMapError::BadNumber));
        assert_eq!(x.add("map:1:2:0"), Err(IdMapError::BadRange));
        assert_eq!(x.add("map:4294967295:0:2"), Err(IdMapError::BadRange));
        assert_eq!(x.add("guest:0:4294967295:2"), Err(IdMapError::BadRange));
        x.add("map:0:1000:10").unwrap();
        assert_eq!(x.add("forbid-guest:9:1"), Err(IdMapError::Overlap));
        assert_eq!(x.add("host:1005:0:1"), Err(IdMapError::Overlap));
        x.add("forbid-guest:10:1").unwrap();
        for i in 0..MAX_RANGES as u32 - 2 {
            x.add(&alloc::format!("guest:{}:0:1", 100 + i)).unwrap();
        }
        assert_eq!(x.add("guest:99:0:1"), Err(IdMapError::TooMany));
    }
}

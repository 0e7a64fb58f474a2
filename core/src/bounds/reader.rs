//! A cursor over bytes from outside: every read says what it was reading when the bytes
//! ran out, and no read allocates.

use super::BoundsError;

/// Reads LEB128 numbers and slices from `bytes`, front to back.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub(super) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// `n` bytes, or an error naming `what` if fewer are left.
    pub(super) fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], BoundsError> {
        let left = self.remaining();
        if n > left as u64 {
            return Err(BoundsError::Truncated {
                what,
                declared: n,
                available: left,
            });
        }
        let n = n as usize;
        let slice = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    pub(super) fn byte(&mut self, what: &'static str) -> Result<u8, BoundsError> {
        Ok(self.take(1, what)?[0])
    }

    /// An unsigned LEB128 number of at most 64 bits.
    pub(super) fn uleb(&mut self, what: &'static str) -> Result<u64, BoundsError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte(what)?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(BoundsError::Number { what });
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(BoundsError::Number { what })
    }

    /// A signed LEB128 number of at most 64 bits.
    pub(super) fn sleb(&mut self, what: &'static str) -> Result<i64, BoundsError> {
        let mut value: i64 = 0;
        let mut shift = 0u32;
        loop {
            let byte = self.byte(what)?;
            if shift == 63 && byte != 0x00 && byte != 0x7f {
                return Err(BoundsError::Number { what });
            }
            value |= i64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
            if shift > 63 {
                return Err(BoundsError::Number { what });
            }
        }
    }

    /// A count of items each at least `min_item_bytes` long, refused at once if the bytes
    /// left cannot hold that many.
    pub(super) fn count(
        &mut self,
        min_item_bytes: u64,
        what: &'static str,
    ) -> Result<u64, BoundsError> {
        let count = self.uleb(what)?;
        let needed = count.saturating_mul(min_item_bytes);
        if needed > self.remaining() as u64 {
            return Err(BoundsError::Truncated {
                what,
                declared: needed,
                available: self.remaining(),
            });
        }
        Ok(count)
    }

    /// A length-prefixed byte string.
    pub(super) fn prefixed(&mut self, what: &'static str) -> Result<&'a [u8], BoundsError> {
        let len = self.uleb(what)?;
        self.take(len, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_numbers_round_the_edges() {
        assert_eq!(Reader::new(&[0x00]).uleb("n").unwrap(), 0);
        assert_eq!(Reader::new(&[0xe5, 0x8e, 0x26]).uleb("n").unwrap(), 624_485);
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max).uleb("n").unwrap(), u64::MAX);
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(matches!(
            Reader::new(&over).uleb("n"),
            Err(BoundsError::Number { .. })
        ));
        assert_eq!(Reader::new(&[0x7f]).sleb("n").unwrap(), -1);
        assert_eq!(
            Reader::new(&[0xc0, 0xbb, 0x78]).sleb("n").unwrap(),
            -123_456
        );
        assert_eq!(Reader::new(&[0x3f]).sleb("n").unwrap(), 63);
        assert!(matches!(
            Reader::new(&[0x80]).uleb("n"),
            Err(BoundsError::Truncated { what: "n", .. })
        ));
    }

    #[test]
    fn a_count_that_cannot_fit_is_refused_before_anything_is_read() {
        // 2^40 items of 32 bytes in a 6-byte input.
        let mut r = Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
        let err = r.count(32, "heads").unwrap_err();
        assert!(err.to_string().contains("heads"), "{err}");
    }
}

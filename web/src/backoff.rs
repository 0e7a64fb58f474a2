//! Reconnect delays: exponential from [`MIN_MS`] to [`MAX_MS`], with jitter so tabs that
//! lost the same relay do not come back in step.

/// The first delay.
pub const MIN_MS: f64 = 250.0;
/// The largest delay.
pub const MAX_MS: f64 = 10_000.0;

/// The delay before attempt `attempt` (0-based), given `unit` in [0, 1): between half
/// and all of the exponential step.
pub fn delay_ms(attempt: u32, unit: f64) -> f64 {
    let step = (MIN_MS * 2f64.powi(attempt.min(16) as i32)).min(MAX_MS);
    step / 2.0 + unit.clamp(0.0, 1.0) * step / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_jitter_and_cap() {
        assert_eq!(delay_ms(0, 0.0), 125.0);
        assert_eq!(delay_ms(0, 1.0), 250.0);
        assert_eq!(delay_ms(3, 0.5), 1_500.0);
        assert_eq!(delay_ms(30, 1.0), MAX_MS);
        assert!(delay_ms(30, 0.0) >= MAX_MS / 2.0);
    }
}
